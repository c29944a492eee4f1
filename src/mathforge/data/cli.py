"""`mathforge data show|stats`: look at the datasets the loaders see."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections import Counter

from mathforge.io import DataError


def _reports_data_errors(func):
    """Bad input ends the command with its message (file, line, field) and exit code 2, not a traceback."""

    @functools.wraps(func)
    def wrapper(args):
        try:
            return func(args)
        except DataError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return wrapper


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "data",
        help="show problems of a dataset, or count every dataset in the data folder",
        description="Inspect datasets as mathforge loads them (gold answers extracted, ids assigned).",
    )
    sub = parser.add_subparsers(dest="data_cmd", metavar="CMD", required=True)

    show = sub.add_parser("show", help="print problems of NAME (a dataset name or a .json/.jsonl path)")
    show.add_argument("name", help="a dataset name (see `mathforge data stats`), a local file, or a hub id")
    show.add_argument("--split", default="test", help="split to read (default: test)")
    show.add_argument("--limit", type=int, default=3, help="how many problems to print (default: 3)")
    show.add_argument("--data-dir", default=None, help="data folder (default: $MATHFORGE_DATA_DIR)")
    show.add_argument("--json", action="store_true", help="print one JSON object per line instead of a table")
    show.set_defaults(func=_show)

    stats = sub.add_parser(
        "stats",
        help="count problems per dataset/split (kept, skipped and why, repaired), by subject and level",
    )
    stats.add_argument("--data-dir", default=None, help="data folder (default: $MATHFORGE_DATA_DIR)")
    stats.set_defaults(func=_stats)


@_reports_data_errors
def _show(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from mathforge.data import load_problems

    problems = load_problems(args.name, split=args.split, data_dir=args.data_dir, limit=args.limit)
    if args.json:
        for p in problems:
            print(json.dumps(p.to_dict(), ensure_ascii=False))
        return 0
    table = Table(title=f"{args.name} [{args.split}]", show_lines=True)
    for col in ("id", "question", "gold", "meta"):
        table.add_column(col, overflow="fold")
    for p in problems:
        meta = ", ".join(f"{k}={v}" for k, v in p.meta.items() if k in ("subject", "level", "Type"))
        table.add_row(p.id, p.question, p.gold, meta)
    Console().print(table)
    return 0


@_reports_data_errors
def _stats(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from mathforge.data import DATASETS, LoadReport, data_dir, load_problems

    folder = data_dir(args.data_dir)
    if folder is None:
        print("no data folder: pass --data-dir or set MATHFORGE_DATA_DIR")
        return 2
    table = Table(title=f"datasets in {folder}")
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
    for name, (_, files, _) in DATASETS.items():
        for split, rel in files.items():
            if not (folder / rel).exists():
                table.add_row(name, split, "-", f"missing: {rel}")
                continue
            report = LoadReport()
            problems = load_problems(name, split=split, data_dir=folder, report=report)
            table.add_row(name, split, str(len(problems)), _breakdown(problems))
            loads.add_row(
                name if split == "test" else f"{name} [{split}]",
                str(report.records - report.filtered),
                str(report.kept),
                _fixes(report),
                (report.sha256 or "")[:16],
            )
    Console().print(table)
    Console().print(loads)
    return 0


def _fixes(report) -> str:
    parts = []
    for label, counts in (("skipped", report.skipped), ("repaired", report.repaired), ("", report.notes)):
        if counts:
            parts.append(f"{label} " * bool(label) + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return "; ".join(parts)


def _breakdown(problems) -> str:
    subjects = Counter(p.meta.get("subject") for p in problems if p.meta.get("subject"))
    levels = Counter(p.meta.get("level") for p in problems if p.meta.get("level") is not None)
    parts = []
    if levels:
        parts.append("levels " + " ".join(f"{k}:{v}" for k, v in sorted(levels.items())))
    if subjects:
        parts.append("; ".join(f"{k} {v}" for k, v in subjects.most_common()))
    return "\n".join(parts)
