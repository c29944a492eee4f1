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


def stats(cfg: DataStatsConfig) -> list[tuple[str, str, int | None, str]]:
    """``(dataset, split, problems or None when missing, breakdown)`` for every registered dataset."""
    from mathforge.data import DATASETS, data_dir, load_problems
    from mathforge.io import DataError

    folder = data_dir(cfg.data_dir)
    if folder is None:
        raise DataError("no data folder: pass --data-dir or set MATHFORGE_DATA_DIR", field="data_dir")
    rows = []
    for name, (_, files, _) in DATASETS.items():
        for split, rel in files.items():
            if not (folder / rel).exists():
                rows.append((name, split, None, f"missing: {rel}"))
                continue
            problems = load_problems(name, split=split, data_dir=folder)
            subjects = Counter(p.meta.get("subject") for p in problems if p.meta.get("subject"))
            levels = Counter(p.meta.get("level") for p in problems if p.meta.get("level") is not None)
            parts = []
            if levels:
                parts.append("levels " + " ".join(f"{k}:{v}" for k, v in sorted(levels.items())))
            if subjects:
                parts.append("; ".join(f"{k} {v}" for k, v in subjects.most_common()))
            rows.append((name, split, len(problems), "\n".join(parts)))
    return rows


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
    for name, split, count, breakdown in rows:
        table.add_row(name, split, "-" if count is None else str(count), breakdown)
    Console().print(table)
    return 0
