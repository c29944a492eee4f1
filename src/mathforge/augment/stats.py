"""A run's ``stats.json`` plus the same figures printed as a table."""

from __future__ import annotations

from pathlib import Path

from mathforge.io import write_json


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, object]]:
    rows = []
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(_flatten(value, name + "."))
        else:
            rows.append((name, value))
    return rows


def report_stats(stats: dict, path: str | Path | None, title: str, quiet: bool = False) -> None:
    """Write ``stats`` to ``path`` (atomic JSON) and print it as a two-column table."""
    if path is not None:
        write_json(path, stats)
    if quiet:
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in _flatten(stats):
        table.add_row(name, f"{value:.4f}" if isinstance(value, float) else str(value))
    Console().print(table)
