"""``mathforge data show|stats``: look at problems as mathforge loads them (golds extracted, ids assigned)."""

from __future__ import annotations

import json
from collections import Counter

from pydantic_core import PydanticUndefined

from mathforge.config import Config, redefault, setting
from mathforge.data.config import ProblemsConfig

#: a cell longer than this is cut in the table (a 50 MB field must not take minutes to draw)
MAX_CELL = 2000


class DataShowConfig(ProblemsConfig):
    """Print problems of a dataset or a local file."""

    dataset: str = redefault(ProblemsConfig, "dataset", PydanticUndefined, positional=True)
    limit: int | None = redefault(ProblemsConfig, "limit", 3)
    jsonl: bool = setting(False, "print one JSON object per line instead of a table")


class DataStatsConfig(Config):
    """Count the problems of every dataset in the data folder."""

    data_dir: str | None = redefault(ProblemsConfig, "data_dir", None)


def show(cfg: DataShowConfig) -> list:
    return cfg.load_problems()


def print_problems(cfg: DataShowConfig, problems: list) -> int:
    if cfg.jsonl:
        for p in problems:
            print(json.dumps(p.to_dict(), ensure_ascii=False))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{cfg.dataset} [{cfg.split}]", show_lines=True)
    for col in ("id", "question", "gold", "meta"):
        table.add_column(col, overflow="fold")
    for p in problems:
        meta = ", ".join(f"{k}={v}" for k, v in p.meta.items() if k in ("subject", "level", "Type"))
        table.add_row(_cell(p.id), _cell(p.question), _cell(p.gold), _cell(meta))
    Console().print(table)
    return 0


def _cell(text: str) -> str:
    text = str(text)
    return text if len(text) <= MAX_CELL else f"{text[:MAX_CELL]}... [{len(text) - MAX_CELL} more characters]"


def stats(cfg: DataStatsConfig) -> list[tuple[str, str, int | None, str, dict | None]]:
    """``(dataset, split, problems or None when missing, breakdown, LoadReport.to_dict() or None)`` for every
    registered dataset: what each load read, skipped (and why), repaired, and the file's sha256."""
    from mathforge.data import DATASETS, LoadReport, data_dir, load_problems
    from mathforge.io import DataError

    folder = data_dir(cfg.data_dir)
    if folder is None:
        raise DataError("no data folder: pass --data-dir or set MATHFORGE_DATA_DIR", field="data_dir")
    rows = []
    for name, (_, files, _) in DATASETS.items():
        for split, rel in files.items():
            if not (folder / rel).exists():
                rows.append((name, split, None, f"missing: {rel}", None))
                continue
            report = LoadReport()
            problems = load_problems(name, split=split, data_dir=folder, report=report)
            rows.append((name, split, len(problems), _breakdown(problems), report.to_dict()))
    return rows


def _breakdown(problems) -> str:
    subjects = Counter(p.meta.get("subject") for p in problems if p.meta.get("subject"))
    levels = Counter(p.meta.get("level") for p in problems if p.meta.get("level") is not None)
    parts = []
    if levels:
        parts.append("levels " + " ".join(f"{k}:{v}" for k, v in sorted(levels.items())))
    if subjects:
        parts.append("; ".join(f"{k} {v}" for k, v in subjects.most_common()))
    return "\n".join(parts)


def load_summary(report: dict) -> str:
    """``skipped empty_gold 2; repaired trailing_junk 1, wrong_gold_corrected 1; duplicate_question 3``."""
    parts = []
    for label, counts in (
        ("skipped", report["skipped"]),
        ("repaired", report["repaired"]),
        ("", report["notes"]),
    ):
        if counts:
            parts.append(f"{label} " * bool(label) + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return "; ".join(parts)


def print_stats(cfg: DataStatsConfig, rows: list) -> int:
    from rich.console import Console
    from rich.table import Table

    from mathforge.data import data_dir

    table = Table(title=f"datasets in {data_dir(cfg.data_dir)}")
    for col, justify in (
        ("dataset", "left"),
        ("split", "left"),
        ("problems", "right"),
        ("breakdown", "left"),
    ):
        table.add_column(col, justify=justify, overflow="fold")
    # what each load read, left out and changed: README-documented data problems are counted, never silent
    loads = Table(title="records read, skipped and repaired; the file each run should record (sha256)")
    for col, justify in (
        ("dataset", "left"),
        ("records", "right"),
        ("kept", "right"),
        ("skipped / repaired / notes", "left"),
        ("sha256", "left"),
    ):
        loads.add_column(col, justify=justify, overflow="fold")
    for name, split, count, breakdown, report in rows:
        table.add_row(name, split, "-" if count is None else str(count), breakdown)
        if report is not None:
            loads.add_row(
                name if split == "test" else f"{name} [{split}]",
                str(report["records"] - report["filtered"]),
                str(report["kept"]),
                load_summary(report),
                (report["sha256"] or "")[:16],
            )
    Console().print(table)
    Console().print(loads)
    return 0
