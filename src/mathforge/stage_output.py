"""What a data-producing stage writes: kept rows, rejected rows with a reason, stats, a printed summary.

Every producer (augment code/audit/perturb/teacher, synthesize, ...) goes through :class:`StageOutput`:

* ``OUT`` (JSONL): the kept rows, append-only, so a killed run resumes (``done(key)`` says what to skip);
* ``OUT.rejects.jsonl``: each rejected unit of work with its ``reason`` (also skipped on resume: a reject
  is a verdict, not a failure; a failed request is never written, so a re-run retries it);
* ``OUT.stats.json``: the run's figures, written atomically at the end and printed as a table.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from pathlib import Path

from mathforge.config import Config, setting
from mathforge.io import JsonlAppender, write_json
from mathforge.rows import Row


class OutputConfig(Config):
    """Where a producing stage writes (each stage re-declares ``out``'s default with ``redefault``)."""

    out: str = setting(help="output JSONL of kept rows (rejected ones go to OUT.rejects.jsonl)", io="out")
    stats: str | None = setting(None, "stats JSON (default: OUT with .stats.json)", io="out")

    def output(self, key, *, title: str, reject_key=None) -> StageOutput:
        return StageOutput(self.out_file(), key, title=title, stats=self.stats_file(), reject_key=reject_key)

    def out_file(self) -> Path:
        """``out``, or, for a stage run with ``--shard I/N`` (``mathforge.shard.ShardConfig``), this shard's
        file beside it: ``OUT.shard-I-of-N.jsonl``; every other output file is named after it."""
        return self._sharded(Path(self.out))

    def stats_file(self) -> Path:
        return self._sharded(Path(self.stats)) if self.stats else self.out_file().with_suffix(".stats.json")

    def _sharded(self, path: Path) -> Path:
        sharded = getattr(self, "sharded_file", None)  # present when the stage's config is a ShardConfig
        return sharded(path) if sharded is not None else path


class StageOutput:
    def __init__(
        self,
        out: str | Path,
        key: Callable[[dict], Hashable],
        *,
        title: str,
        rejects: str | Path | None = None,
        reject_key: Callable[[dict], Hashable] | None = None,
        stats: str | Path | None = None,
    ):
        out = Path(out)
        self.title = title
        self.kept = JsonlAppender(out, key=key)
        self.rejected = JsonlAppender(Path(rejects) if rejects else out.with_suffix(".rejects.jsonl"),
                                      key=reject_key or key)  # fmt: skip
        self.stats_path = Path(stats) if stats else out.with_suffix(".stats.json")

    def done(self, key: Hashable) -> bool:
        """Was this unit of work kept or rejected already (by this run or an earlier one)?"""
        return key in self.kept.done or key in self.rejected.done

    def keep(self, row: Row | dict) -> None:
        self.kept.write(row.to_json() if isinstance(row, Row) else row)

    def reject(self, row: dict, reason: str) -> None:
        self.rejected.write({**row, "reason": reason})

    def finish(self, stats: dict, quiet: bool = False) -> dict:
        """Write ``stats`` next to the output and print them (unless ``quiet``); returns them."""
        return report_stats(stats, self.stats_path, self.title, quiet)

    def close(self) -> None:
        self.kept.close()
        self.rejected.close()

    def __enter__(self) -> StageOutput:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def report_stats(stats: dict, path: str | Path, title: str, quiet: bool = False) -> dict:
    """Write ``stats`` to ``path`` (atomic JSON) and print them as a table; returns them."""
    write_json(path, stats)
    if not quiet:
        print_stats(stats, title)
    return stats


def print_stats(stats: dict, title: str) -> None:
    """``stats`` as a two-column table (nested keys flattened as ``a.b``)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in _flatten(stats):
        table.add_row(name, f"{value:.4f}" if isinstance(value, float) else str(value))
    Console().print(table)


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, object]]:
    rows = []
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(_flatten(value, name + "."))
        else:
            rows.append((name, value))
    return rows


def report_failed_requests(cfg, stats: dict) -> int:
    """Exit code 1 (and say how to retry) when some requests failed; their work was not recorded."""
    failed = stats.get("requests_failed", 0)
    if failed:
        print(f"{failed} requests failed (not recorded): run the same command again to retry them")
        return 1
    return 0
