"""What ``mathforge view`` reads: evaluate (or grade) run folders and train output folders.

A path is one of:

* an evaluate run (``predictions.jsonl``, with ``metrics.json`` and ``config.json`` beside it) or a grade
  output (``graded.jsonl``); a path to the JSONL file itself works too;
* a bare predictions file (any other ``.jsonl`` of graded prediction rows), named by its file: the
  metrics.json beside it belongs to its folder's run, not to it; an ungraded file is an error;
* a train ``output_dir`` (one folder per stage, each with ``train_summary.json``) or one stage's folder;
* a folder of such runs (``mathforge demo``'s output: ``eval/<model>/`` and ``train/``), searched two
  levels deep, in name order.

Anything else is a :class:`~mathforge.io.DataError` naming the path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from mathforge.io import DataError
from mathforge.rows import PredictionRow, read_rows

PREDICTION_FILES = ("predictions.jsonl", "graded.jsonl")
TRAIN_SUMMARY = "train_summary.json"  # mathforge.train.SUMMARY (the view does not import the trainer)
SEARCH_DEPTH = 2


class NothingToShow(DataError):
    """No run here, or a run without a single row yet (an evaluation that failed before its first sample)."""


@dataclass
class EvalRun:
    """One evaluation: its graded rows, and its metrics and settings where they were written."""

    name: str
    path: Path
    rows: list[PredictionRow]
    metrics: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class TrainRun:
    """One train output folder: the summary of each finished stage, in the order they ran."""

    name: str
    path: Path
    stages: list[dict]


def load_sources(paths: list[str | Path]) -> tuple[list[EvalRun], list[TrainRun]]:
    """Every evaluate run and train output under ``paths`` (names made unique by their parent folders)."""
    evals: list[EvalRun] = []
    trains: list[TrainRun] = []
    for given in paths:
        found = discover(Path(given))
        if not found:
            raise NothingToShow(
                "no evaluate run (predictions.jsonl, graded.jsonl) or train output (train_summary.json) here",
                given,
            )
        for kind, path in found:
            if kind == "eval":
                evals.append(load_eval(path))
            else:
                trains.append(load_train(path))
    _unique_names(evals)
    _unique_names(trains)
    return evals, trains


def discover(path: Path, depth: int = SEARCH_DEPTH) -> list[tuple[str, Path]]:
    """``("eval" | "train", path)`` for each run at or below ``path``."""
    if not path.exists():
        raise DataError("no such file or folder", path)
    if path.is_file():
        if path.suffix == ".jsonl":
            return [("eval", path)]
        if path.name == TRAIN_SUMMARY:
            return [("train", path.parent)]
        raise DataError("expected a predictions file (.jsonl), a train_summary.json or a run folder", path)
    if any((path / name).is_file() for name in PREDICTION_FILES):
        return [("eval", path)]
    if (path / TRAIN_SUMMARY).is_file() or any((d / TRAIN_SUMMARY).is_file() for d in _subdirs(path)):
        return [("train", path)]
    if depth == 0:
        return []
    return [item for d in _subdirs(path) for item in discover(d, depth - 1)]


def _subdirs(path: Path) -> list[Path]:
    return sorted(d for d in path.iterdir() if d.is_dir() and not d.name.startswith("."))


def load_eval(path: Path) -> EvalRun:
    folder = path.parent if path.is_file() else path
    file = path if path.is_file() else next(folder / n for n in PREDICTION_FILES if (folder / n).is_file())
    notes: list[str] = []
    rows = _read_predictions(file, notes)
    if not rows:
        raise NothingToShow("no prediction rows", file)
    if file.name not in PREDICTION_FILES:
        # A bare predictions file (a.jsonl): the metrics.json and config.json beside it, if any, belong to
        # the folder's own run, not to this file; and two bare files of one folder must not share a name
        # (the comparison finds its runs by name), so the run is named and located by the file itself.
        return EvalRun(file.stem, file, rows, {}, {}, notes)
    metrics = _read_json(folder / "metrics.json")
    config = _read_json(folder / "config.json") or metrics.get("config", {})
    if metrics.get("partial"):
        notes.append(f"partial run: {metrics['partial']}")
    return EvalRun(folder.name, folder, rows, metrics, config, notes)


def _read_predictions(file: Path, notes: list[str]) -> list[PredictionRow]:
    """The rows, first of each (id, sample) kept; a torn last line (a run still writing) is skipped."""
    rows: dict[tuple[str, int], PredictionRow] = {}
    ungraded = None
    try:
        for line, row in read_rows(file, PredictionRow):
            if "correct" not in row.model_fields_set:
                ungraded = line
                break
            rows.setdefault(row.key(), row)
    except DataError as exc:
        if not _is_torn_last_line(file, exc.line):
            raise
        notes.append(f"line {exc.line} of {file.name} is incomplete (a run still writing?): not shown")
    if ungraded is not None:
        # an ungraded file (a foreign one with `output`/`pred`) would parse with every sample wrong and no
        # text: a page of 0% that looks real; the grader makes it a viewable run
        raise DataError(f"not graded: run `mathforge grade {file} --out DIR`, then view DIR", file, ungraded,
                        "correct")  # fmt: skip
    return list(rows.values())


def _is_torn_last_line(file: Path, line: int | None) -> bool:
    data = file.read_bytes()
    return line is not None and not data.endswith(b"\n") and line == data.count(b"\n") + 1


def load_train(path: Path) -> TrainRun:
    folders = [path] if (path / TRAIN_SUMMARY).is_file() else _subdirs(path)
    files = [d / TRAIN_SUMMARY for d in folders if (d / TRAIN_SUMMARY).is_file()]
    # the order the stages finished in (a later stage continues an earlier one's checkpoint)
    stages = [_read_summary(f) for f in sorted(files, key=lambda f: (f.stat().st_mtime, f.parent.name))]
    return TrainRun(path.name, path, stages)


def _read_summary(file: Path) -> dict:
    summary = _read_json(file)
    curve = summary.get("loss_curve")
    if not isinstance(curve, list):
        raise DataError("expected a list of {step, loss, lr}", file, field="loss_curve")
    for i, point in enumerate(curve):
        if not isinstance(point, dict) or not isinstance(point.get("step"), (int, float)):
            raise DataError("expected {step, loss, lr}", file, field=f"loss_curve[{i}].step")
    summary.setdefault("stage", file.parent.name)
    return summary


def _read_json(file: Path) -> dict:
    if not file.is_file():
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text (byte {exc.start})", file) from None
    except json.JSONDecodeError as exc:
        raise DataError(f"invalid JSON ({exc.msg})", file, exc.lineno) from None
    if not isinstance(data, dict):
        raise DataError(f"expected a JSON object, got {type(data).__name__}", file)
    return data


def _unique_names(runs) -> None:
    """``a`` and ``a`` from two folders become ``x/a`` and ``y/a``."""
    depth = 1
    while len({r.name for r in runs}) < len(runs) and depth < 6:
        depth += 1
        for r in runs:
            r.name = "/".join(r.path.parts[-depth:])
