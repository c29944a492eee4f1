"""`mathforge grade` end to end through the CLI entry point (main(argv)): foreign files and evaluate's own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mathforge.cli import main

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "data_mini"

ROWS = [
    {
        "id": "a",
        "gold": "\\frac{1}{2}",
        "output": "So we get $\\boxed{0.5}$.",
        "subject": "Algebra",
        "level": 1,
    },
    {"id": "b", "gold": "(1,2]", "pred": "(1,2)", "subject": "Algebra", "level": 2},
    {
        "id": "c",
        "gold": 18,
        "output": "```python\nprint(9*2)\n```\n```output\n18\n```\nThe answer is 18.",
        "subject": "Prealgebra",
        "level": 2,
    },
    {"id": "d", "gold": "1", "pred": "9^{9^{9}}", "subject": "Prealgebra", "level": 5},
    {"id": "e", "gold": "7", "output": "I am not sure.", "subject": "Prealgebra", "level": 5},
]


def _write(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_grade_writes_graded_rows_and_metrics(tmp_path, capsys):
    src = _write(tmp_path / "preds.jsonl", ROWS)
    out = tmp_path / "out"
    assert main(["grade", str(src), "--out", str(out), "--grade-workers", "2", "--grade-timeout", "5"]) == 0
    graded = _read(out / "graded.jsonl")
    assert [r["id"] for r in graded] == ["a", "b", "c", "d", "e"]  # in input order
    assert [r["correct"] for r in graded] == [True, False, True, False, False]
    assert [r["answer"] for r in graded] == ["0.5", "(1,2)", "18", "9^{9^{9}}", None]
    assert graded[3]["grade_status"] == "timeout" and graded[0]["grade_status"] == "ok"
    assert graded[0]["output"] == ROWS[0]["output"]  # the input row is kept
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["unit"] == "fraction" and (metrics["problems"], metrics["samples"]) == (5, 5)
    assert metrics["accuracy"] == 0.4
    assert metrics["grading"] == {"timeouts": 1, "errors": 0, "no_answer": 1}
    assert metrics["by_subject"]["Algebra"] == {"problems": 2, "accuracy": 0.5}
    assert metrics["by_level"]["Level 5"] == {"problems": 2, "accuracy": 0.0}
    assert list(metrics["by_level"]) == ["Level 1", "Level 2", "Level 5"]
    printed = capsys.readouterr().out
    assert "Prealgebra" in printed and "40.00" in printed
    assert "| accuracy | 40.0 |" in (out / "report.md").read_text()


def test_rerun_resumes_without_duplicates_and_repairs_torn_output(tmp_path):
    src = _write(tmp_path / "preds.jsonl", [r for r in ROWS if r["id"] != "d"])
    out = tmp_path / "out"
    assert main(["grade", str(src), "--out", str(out)]) == 0
    graded_path = out / "graded.jsonl"
    lines = graded_path.read_text().splitlines(keepends=True)
    graded_path.write_text("".join(lines[:2]) + lines[2][:10])  # killed mid-write of the third row
    assert main(["grade", str(src), "--out", str(out)]) == 0
    graded = _read(graded_path)
    assert [r["id"] for r in graded] == ["a", "b", "c", "e"]
    assert json.loads((out / "metrics.json").read_text())["samples"] == 4


def test_resume_refuses_output_of_another_input(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["grade", str(_write(tmp_path / "one.jsonl", ROWS[:2])), "--out", str(out)]) == 0
    assert main(["grade", str(_write(tmp_path / "two.jsonl", ROWS[2:3])), "--out", str(out)]) == 2
    assert "rows of another input" in capsys.readouterr().err


@pytest.mark.parametrize(
    "row,field",
    [
        ({"gold": "1", "pred": "1"}, "id"),
        ({"id": "x", "pred": "1"}, "gold"),
        ({"id": "x", "gold": "1"}, "output"),
        ({"id": "x", "gold": ["1"], "pred": "1"}, "gold"),
    ],
)
def test_malformed_rows_fail_with_line_and_field(tmp_path, capsys, row, field):
    src = _write(tmp_path / "bad.jsonl", [{"id": "ok", "gold": "1", "pred": "1"}, row])
    assert main(["grade", str(src), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{src}, line 2, field '{field}'" in err


def test_dataset_fills_gold_subject_level_by_id(tmp_path):
    rows = [{"id": "math/test/0", "pred": "0.75"}, {"id": "math/test/1", "output": "\\boxed{-2}"}]
    src = _write(tmp_path / "preds.jsonl", rows)
    out = tmp_path / "out"
    assert main(["grade", str(src), "--out", str(out), "--dataset", "math", "--data-dir", str(MINI)]) == 0
    graded = _read(out / "graded.jsonl")
    assert [(r["gold"], r["subject"], r["level"], r["correct"]) for r in graded] == [
        ("\\frac{3}{4}", "Prealgebra", "2", True),
        ("2", "Algebra", "1", False),
    ]
    assert json.loads((out / "metrics.json").read_text())["config"]["dataset"] == "math"


def test_percent_flag(tmp_path):
    src = _write(tmp_path / "preds.jsonl", [{"id": "p", "gold": "0.25", "pred": "25"}])
    assert main(["grade", str(src), "--out", str(tmp_path / "strict")]) == 0
    assert main(["grade", str(src), "--out", str(tmp_path / "lenient"), "--percent"]) == 0
    assert _read(tmp_path / "strict" / "graded.jsonl")[0]["correct"] is False
    assert _read(tmp_path / "lenient" / "graded.jsonl")[0]["correct"] is True


def test_data_verb_show_and_stats(capsys):
    assert main(["data", "show", "svamp", "--data-dir", str(MINI), "--jsonl", "--limit", "1"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["id"], r["gold"], r["dataset"]) for r in rows] == [("chal-1", "145", "svamp")]
    assert main(["data", "stats", "--data-dir", str(MINI)]) == 0
    out = capsys.readouterr().out
    assert "math500" in out and "missing: gsm8k/train.jsonl" in out
    assert main(["data", "show", "svamp", "--split", "train", "--data-dir", str(MINI)]) == 2


def test_grade_regrades_an_evaluate_predictions_file(tmp_path, toy_problems, arithmetic_backend):
    """evaluate's own predictions.jsonl is a valid grade input: same rows, same metrics, re-extracted answers."""
    from mathforge.evaluate import EvaluateConfig, run

    run(EvaluateConfig(out=str(tmp_path / "eval"), n=2, temperature=0.8, sandbox_workers=1, grade_workers=1),
        backend=arithmetic_backend, problems=toy_problems)  # fmt: skip
    evaluated = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    out = tmp_path / "regraded"
    assert main(["grade", str(tmp_path / "eval" / "predictions.jsonl"), "--out", str(out)]) == 0
    regraded = json.loads((out / "metrics.json").read_text())
    for key in ("problems", "samples", "accuracy", "maj@2", "pass@2", "by_subject", "by_level", "executions"):
        assert regraded[key] == evaluated[key], key
    before = {(r["id"], r["sample"]): r for r in _read(tmp_path / "eval" / "predictions.jsonl")}
    after = {(r["id"], r["sample"]): r for r in _read(out / "graded.jsonl")}
    assert before.keys() == after.keys()
    assert all(
        after[k]["answer"] == before[k]["answer"] and after[k]["text"] == before[k]["text"] for k in before
    )
