"""Run folders made by hand for the viewer's tests: evaluate runs with known outcomes, a train folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mathforge.io import write_json
from mathforge.rows import ExecutionRecord, PredictionRow, write_rows

PROMPT_HEAD = "Solve the problem with Python; put the answer in \\boxed{}.\n\nQuestion: "
PROMPT_TAIL = "\nSolution:\n"
SUBJECTS = ("Algebra", "Geometry", "Number Theory")


def tir_text(a: int, b: int, answer: str, output: str | None = None) -> str:
    """A ToRA-style transcript: a sentence, one program, its output, a boxed answer."""
    shown = str(a + b) if output is None else output
    return (f"We add the two numbers.\n```python\nx = {a} + {b}  # the sum\nprint(x)\n```\n"
            f"```output\n{shown}\n```\nSo the answer is \\boxed{{{answer}}}.")  # fmt: skip


def prediction(i: int, correct: bool, *, sample: int = 0, status: str = "ok", subject: str | None = None,
               level: str | None = None, dataset: str = "toy") -> PredictionRow:  # fmt: skip
    """Problem ``i`` asks for ``i + 7``; a wrong sample answers one more."""
    gold = str(i + 7)
    answer = gold if correct else str(i + 8)
    output = (
        "Traceback (most recent call last):\nZeroDivisionError: division by zero"
        if status == "error"
        else None
    )
    if status == "timeout":
        output = "TimeoutError: the program ran longer than 5 s"
    text = tir_text(i, 7, answer, output)
    return PredictionRow(
        id=f"p{i:04d}",
        sample=sample,
        gold=gold,
        dataset=dataset,
        subject=subject if subject is not None else SUBJECTS[i % len(SUBJECTS)],
        level=level if level is not None else str(1 + i % 3),
        prompt=f"{PROMPT_HEAD}What is {i} plus seven?{PROMPT_TAIL}",
        text=text,
        executions=[
            ExecutionRecord(
                code=f"x = {i} + 7  # the sum\nprint(x)",
                output=output or str(i + 7),
                status=status,
                duration=0.0123,
            )
        ],  # fmt: skip
        rounds=1,
        tokens=40,
        finish="stop",
        answer=answer,
        correct=correct,
        grade_status="ok",
    )


def write_run(
    folder: Path, rows: list[PredictionRow], *, metrics: dict | None = None, model: str = "toy-model"
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_rows(folder / "predictions.jsonl", rows)
    write_json(folder / "config.json", {"model": model, "dataset": "toy", "mode": "tir", "n": 1,
                                        "solution_format": "tora"})  # fmt: skip
    if metrics is not None:
        write_json(folder / "metrics.json", metrics)
    return folder


def write_train(folder: Path) -> Path:
    """A train output_dir with two finished stages (cot, then code)."""
    for j, (name, mode) in enumerate((("cot", {"cot": 40}), ("code", {"code": 40}))):
        stage = folder / name
        stage.mkdir(parents=True, exist_ok=True)
        curve = [{"step": s, "loss": 3.0 / (1 + s / 10) + 0.1 * j, "lr": 1e-4} for s in range(10, 110, 10)]
        (stage / "train_summary.json").write_text(json.dumps({
            "stage": name, "global_step": 100, "samples": 40, "by_mode": mode, "by_format": {},
            "trained_tokens_per_epoch": 3000, "tokens_per_epoch": 4000 + 1000 * j, "tokens_per_s": 1234.5,
            "train_runtime_s": 12.5, "train_loss": 1.0, "loss_curve": curve,
        }))  # fmt: skip
        if j == 0:  # stages finish in order; the viewer sorts them by when their summary was written
            import os
            import time

            os.utime(stage / "train_summary.json", (time.time() - 60, time.time() - 60))
    return folder


#: the constructed pair of runs: outcome of problem i in run A and run B (counts: fixed 4, broken 2,
#: both right 5, both wrong 3)
PAIR = [(False, True)] * 4 + [(True, False)] * 2 + [(True, True)] * 5 + [(False, False)] * 3


@pytest.fixture
def pair_runs(tmp_path) -> tuple[Path, Path]:
    a = write_run(tmp_path / "run-a", [prediction(i, x) for i, (x, _) in enumerate(PAIR)], model="model-a")
    b = write_run(tmp_path / "run-b", [prediction(i, y) for i, (_, y) in enumerate(PAIR)], model="model-b")
    return a, b


@pytest.fixture
def mixed_run(tmp_path) -> Path:
    """30 problems: every third wrong, problem 4 timed out, problem 5 raised an error."""
    rows = []
    for i in range(30):
        status = "timeout" if i == 4 else "error" if i == 5 else "ok"
        rows.append(prediction(i, i % 3 != 0 and status == "ok", status=status))
    return write_run(tmp_path / "mixed", rows)
