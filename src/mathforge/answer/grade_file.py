"""Grade a predictions file: the work behind `mathforge grade`.

Input rows: ``id``, ``gold`` and either ``output`` (full model text; the answer is extracted) or ``pred`` (an
already-extracted answer); optional ``subject``, ``level``, ``grading`` (per-problem options, see
:class:`~mathforge.answer.GradeOptions`). With ``dataset=NAME`` rows may leave out ``gold``, ``subject``,
``level`` and ``grading``: they are looked up by ``id`` in the dataset.
Outputs: ``graded.jsonl`` (input row + ``extracted``, ``correct``, ``grade_status``; append-only, resumable)
and ``metrics.json``.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

from mathforge.answer.extract import extract_answer
from mathforge.answer.options import GradeOptions
from mathforge.io import DataError, JsonlAppender, progress, read_jsonl, write_json


def _bucket() -> dict:
    return {"total": 0, "correct": 0}


def compute_metrics(rows: list[dict]) -> dict:
    """``{"total", "correct", "accuracy" (percent), "timeouts", "errors", "no_answer"}`` + per subject/level."""
    overall = {"total": 0, "correct": 0, "timeouts": 0, "errors": 0, "no_answer": 0}
    by_subject: dict = defaultdict(_bucket)
    by_level: dict = defaultdict(_bucket)
    for row in rows:
        ok = bool(row.get("correct"))
        overall["total"] += 1
        overall["correct"] += ok
        overall["timeouts"] += row.get("grade_status") == "timeout"
        overall["errors"] += row.get("grade_status") == "error"
        overall["no_answer"] += row.get("extracted") is None
        if row.get("subject") is not None:
            by_subject[str(row["subject"])]["total"] += 1
            by_subject[str(row["subject"])]["correct"] += ok
        if row.get("level") is not None:
            by_level[str(row["level"])]["total"] += 1
            by_level[str(row["level"])]["correct"] += ok
    metrics = {**overall, "accuracy": _pct(overall)}
    if by_subject:
        metrics["by_subject"] = {k: {**v, "accuracy": _pct(v)} for k, v in sorted(by_subject.items())}
    if by_level:
        metrics["by_level"] = {
            k: {**v, "accuracy": _pct(v)} for k, v in sorted(by_level.items(), key=_level_key)
        }
    return metrics


def _level_key(item):
    key = item[0]
    return (0, int(key), "") if key.isdigit() else (1, 0, key)


def _pct(bucket: dict) -> float:
    return round(100.0 * bucket["correct"] / bucket["total"], 2) if bucket["total"] else 0.0


def _reference(dataset: str | None, split: str, data_dir) -> dict:
    if not dataset:
        return {}
    from mathforge.data import load_problems

    return {p.id: p for p in load_problems(dataset, split=split, data_dir=data_dir)}


def _prepare(path: Path, reference: dict) -> list[dict]:
    """Read and check the input, filling gold/subject/level from the reference dataset where missing."""
    from mathforge.data import canonical_number

    rows = []
    for line, row in read_jsonl(path):
        if "id" not in row:
            raise DataError("missing required field", path, line, "id")
        ref = reference.get(str(row["id"]))
        if reference and ref is None and row.get("gold") is None:
            raise DataError(
                f"id {row['id']!r} is not in the dataset and the row has no gold", path, line, "id"
            )
        if ref is not None:
            row.setdefault("gold", ref.gold)
            for key in ("subject", "level", "grading"):
                if row.get(key) is None and ref.meta.get(key) is not None:
                    row[key] = ref.meta[key]
        if row.get("grading") is not None:
            try:
                GradeOptions.coerce(row["grading"])
            except (TypeError, ValueError) as exc:
                raise DataError(str(exc), path, line, "grading") from None
        if row.get("gold") is None:
            raise DataError(
                "missing required field (or pass --dataset to look golds up by id)", path, line, "gold"
            )
        if isinstance(row["gold"], (int, float)) and not isinstance(row["gold"], bool):
            row["gold"] = canonical_number(row["gold"])
        if not isinstance(row["gold"], str):
            raise DataError(f"expected str, got {type(row['gold']).__name__}", path, line, "gold")
        if "output" not in row and "pred" not in row:
            raise DataError(
                "a row needs 'output' (model text) or 'pred' (extracted answer)", path, line, "output"
            )
        for key in ("output", "pred"):
            if row.get(key) is not None and not isinstance(row[key], (str, int, float)):
                raise DataError(f"expected str, got {type(row[key]).__name__}", path, line, key)
        rows.append(row)
    return rows


def grade_file(
    path: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    dataset: str | None = None,
    split: str = "test",
    data_dir=None,
    workers: int | None = None,
    timeout: float = 5.0,
    percent: bool = False,
    show_progress: bool = True,
) -> dict:
    """Grade ``path`` into ``out_dir``; returns the metrics (also written to ``out_dir/metrics.json``)."""
    from mathforge.answer.grader import Grader

    path, out_dir = Path(path), Path(out_dir)
    rows = _prepare(path, _reference(dataset, split, data_dir))
    graded_path = out_dir / "graded.jsonl"
    with JsonlAppender(graded_path) as out:
        done = len(out.rows)
        if done > len(rows) or any(
            str(g.get("id")) != str(r["id"]) for g, r in zip(out.rows, rows[:done], strict=True)
        ):
            raise DataError(
                f"{graded_path} does not match this input (ids differ); remove it to regrade", graded_path
            )
        todo = rows[done:]
        for row in todo:
            if row.get("pred") is not None:
                row["extracted"] = str(row["pred"]).strip()
            else:
                row["extracted"] = extract_answer(row.get("output"))
        pairs = [(row["extracted"], row["gold"], row.get("grading")) for row in todo]
        results: dict[int, object] = {}
        next_write = 0

        with (
            progress("grading", total=len(todo), unit="pairs", disable=not show_progress) as advance,
            Grader(workers=workers, timeout=timeout, percent=percent) as grader,
        ):

            def on_result(index, result):
                nonlocal next_write
                results[index] = result
                advance()
                # write in input order, so a resumed run can skip the first len(graded.jsonl) rows
                while next_write in results:
                    res = results.pop(next_write)
                    row = todo[next_write]
                    row["correct"], row["grade_status"] = bool(res.correct), res.status
                    if res.error:
                        row["grade_error"] = res.error
                    out.write(row)
                    next_write += 1

            grader.grade_many(pairs, on_result=on_result)
        graded = out.rows
    metrics = compute_metrics(graded)
    metrics["input"] = str(path)
    if dataset:
        metrics["dataset"] = dataset
    metrics["grader"] = {"timeout": timeout, "percent": percent, "workers": workers}
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def metrics_table(metrics: dict, title: str = "grading"):
    """A rich Table: overall, then per subject and per level."""
    from rich.table import Table

    table = Table(title=title)
    for col, justify in (
        ("group", "left"),
        ("total", "right"),
        ("correct", "right"),
        ("accuracy %", "right"),
    ):
        table.add_column(col, justify=justify)
    table.add_row("[bold]all", str(metrics["total"]), str(metrics["correct"]), f"{metrics['accuracy']:.2f}")
    for section, label in (("by_subject", ""), ("by_level", "level ")):
        for key, m in metrics.get(section, {}).items():
            table.add_row(f"{label}{key}", str(m["total"]), str(m["correct"]), f"{m['accuracy']:.2f}")
    table.caption = (
        f"timeouts {metrics['timeouts']}, errors {metrics['errors']}, "
        f"no answer extracted {metrics['no_answer']}"
    )
    return table
