"""`mathforge grade FILE.jsonl --out DIR`: extract answers, grade them in a killable pool, write metrics."""

from __future__ import annotations

import argparse
import sys

from mathforge.io import DataError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "grade",
        help="grade model outputs or extracted answers against gold answers",
        description=(
            "Grade FILE.jsonl (rows: id, gold, and output or pred; optional subject, level). Writes "
            "DIR/graded.jsonl (each row + extracted, correct, grade_status; re-running resumes) and "
            "DIR/metrics.json (total, correct, accuracy in percent, timeouts, per subject/level)."
        ),
    )
    parser.add_argument("file", help="predictions JSONL")
    parser.add_argument("--out", required=True, help="output folder for graded.jsonl and metrics.json")
    parser.add_argument(
        "--dataset",
        default=None,
        help="dataset name/file whose golds, subjects and levels fill rows that lack them (by id)",
    )
    parser.add_argument("--split", default="test", help="split of --dataset (default: test)")
    parser.add_argument(
        "--data-dir", default=None, help="data folder for --dataset (default: $MATHFORGE_DATA_DIR)"
    )
    parser.add_argument("--workers", type=int, default=None, help="grading processes (default: min(4, CPUs))")
    parser.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        help="seconds per pair before its worker is killed and the pair graded false (default: 5)",
    )
    parser.add_argument(
        "--percent",
        action="store_true",
        help="percentage leniency: also accept gold x 100 and gold / 100 (off by default)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from mathforge.answer.grade_file import grade_file, metrics_table

    try:
        metrics = grade_file(
            args.file,
            args.out,
            dataset=args.dataset,
            split=args.split,
            data_dir=args.data_dir,
            workers=args.workers,
            timeout=args.timeout,
            percent=args.percent,
        )
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    Console().print(metrics_table(metrics, title=f"grade {args.file}"))
    print(f"wrote {args.out}/graded.jsonl and {args.out}/metrics.json")
    return 0
