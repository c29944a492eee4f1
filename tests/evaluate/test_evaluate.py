"""evaluate(): predictions rows, metrics (graded by equivalence), report, resume; no model needed."""

from __future__ import annotations

import json

import pytest

from mathforge.evaluate import evaluate
from mathforge.io import DataError, read_jsonl


def rows(out):
    return [r for _, r in read_jsonl(out / "predictions.jsonl")]


def test_rows_metrics_and_report(tmp_path, toy_problems, arithmetic_backend, sandbox):
    m = evaluate(
        backend=arithmetic_backend,
        problems=toy_problems,
        out=tmp_path,
        sandbox=sandbox,
        show_progress=False,
        workers=1,
    )
    preds = rows(tmp_path)
    assert [(r["id"], r["sample"]) for r in preds] == [("a", 0), ("b", 0), ("c", 0), ("d", 0)]
    c = next(r for r in preds if r["id"] == "c")
    # 0.25 was graded equivalent to \frac{1}{4}: not string equality
    assert c["answer"] == "0.25" and c["correct"] is True and c["grade_status"] == "ok"
    assert c["executions"] == [
        {"code": "print(1 / 4)", "output": "0.25", "status": "ok", "duration": c["executions"][0]["duration"]}
    ]
    assert c["text"].startswith("Let's compute.\n```python\nprint(1 / 4)\n```\n```output\n0.25\n```\n")
    assert (
        c["prompt"] == "Question: What is 1 / 4?\nAnswer:\n" and c["rounds"] == 2 and c["finish"] == "answer"
    )
    assert [r["correct"] for r in preds] == [True, True, True, False]
    assert m["accuracy"] == 0.75
    assert m["by_subject"]["Algebra"]["accuracy"] == 1.0
    assert m["by_subject"]["Number Theory"]["accuracy"] == 0.5
    assert m["by_level"]["Level 1"] == {"problems": 2, "accuracy": 0.5}
    assert m["executions"]["by_status"] == {"ok": 4}
    assert m["timing"]["samples_this_run"] == 4 and m["timing"]["tokens_this_run"] > 0
    assert json.loads((tmp_path / "metrics.json").read_text())["accuracy"] == 0.75
    report = (tmp_path / "report.md").read_text()
    assert "| accuracy | 75.0 |" in report and "| Number Theory | 2 | 50.0 |" in report
    assert "```output\n5\n```" in report  # the example trajectory


def test_self_consistency_metrics(tmp_path, toy_problems, arithmetic_backend, sandbox):
    m = evaluate(
        backend=arithmetic_backend,
        problems=toy_problems[:3],
        out=tmp_path,
        sandbox=sandbox,
        n=4,
        temperature=0.8,
        seed=0,
        show_progress=False,
        workers=1,
    )
    preds = rows(tmp_path)
    assert len(preds) == 12
    per = {}
    for r in preds:
        per.setdefault(r["id"], []).append(r["correct"])
    # the backend sometimes answers wrongly when sampling, but never most of the time
    assert any(not all(v) for v in per.values())
    assert m["maj@4"] == 1.0 and m["pass@4"] == 1.0
    n_correct = sum(sum(v) for v in per.values())
    assert m["accuracy"] == pytest.approx(n_correct / 12)
    assert m["pass@1"] == pytest.approx(m["accuracy"])
    assert {"maj@1", "maj@2", "maj@4", "pass@2"} <= set(m)


def test_resume_skips_finished_rows(tmp_path, toy_problems, arithmetic_backend, sandbox):
    evaluate(
        backend=arithmetic_backend,
        problems=toy_problems[:2],
        out=tmp_path,
        sandbox=sandbox,
        show_progress=False,
        workers=1,
    )
    calls = arithmetic_backend.calls
    m = evaluate(
        backend=arithmetic_backend,
        problems=toy_problems,
        out=tmp_path,
        sandbox=sandbox,
        show_progress=False,
        workers=1,
    )
    assert arithmetic_backend.calls - calls == 4  # only c and d ran (2 rounds each)
    assert sorted((r["id"], r["sample"]) for r in rows(tmp_path)) == [("a", 0), ("b", 0), ("c", 0), ("d", 0)]
    assert m["timing"]["resumed_samples"] == 2 and m["samples"] == 4
    # a torn last line (the process died mid-write) is dropped and that sample redone
    path = tmp_path / "predictions.jsonl"
    data = path.read_bytes()
    path.write_bytes(data[: data.rindex(b"\n", 0, len(data) - 1) + 1] + b'{"id": "d", "sam')
    evaluate(
        backend=arithmetic_backend,
        problems=toy_problems,
        out=tmp_path,
        sandbox=sandbox,
        show_progress=False,
        workers=1,
    )
    assert sorted((r["id"], r["sample"]) for r in rows(tmp_path)) == [("a", 0), ("b", 0), ("c", 0), ("d", 0)]


def test_resume_with_other_settings_is_refused(tmp_path, toy_problems, arithmetic_backend, sandbox):
    evaluate(
        backend=arithmetic_backend,
        problems=toy_problems[:1],
        out=tmp_path,
        sandbox=sandbox,
        show_progress=False,
        workers=1,
    )
    with pytest.raises(DataError, match="mode"):
        evaluate(
            backend=arithmetic_backend,
            problems=toy_problems[:1],
            out=tmp_path,
            sandbox=sandbox,
            mode="pot",
            show_progress=False,
            workers=1,
        )


def test_pot_and_cot_modes(tmp_path, toy_problems, arithmetic_backend, sandbox):
    m = evaluate(
        backend=arithmetic_backend,
        problems=toy_problems[:2],
        out=tmp_path / "pot",
        sandbox=sandbox,
        mode="pot",
        show_progress=False,
        workers=1,
    )
    assert m["accuracy"] == 1.0 and m["finish"] == {"program": 2}
    m = evaluate(
        backend=arithmetic_backend,
        problems=toy_problems[:2],
        out=tmp_path / "cot",
        sandbox=sandbox,
        mode="cot",
        show_progress=False,
        workers=1,
    )
    assert m["executions"]["total"] == 0


def test_cli_registers_evaluate_with_the_issue_flags():
    from mathforge.cli import build_parser

    args = build_parser().parse_args(
        [
            "evaluate",
            "--model",
            "m",
            "--base-url",
            "http://x",
            "--data",
            "f.jsonl",
            "--split",
            "train",
            "--limit",
            "3",
            "--mode",
            "pot",
            "--n",
            "4",
            "--temperature",
            "0.7",
            "--max-rounds",
            "2",
            "--prompt-format",
            "tora",
            "--out",
            "o",
            "--data-dir",
            "d",
            "--batch-size",
            "8",
            "--max-tokens",
            "99",
            "--workers",
            "2",
            "--seed",
            "3",
        ]
    )
    assert (args.model, args.base_url, args.data, args.split, args.limit, args.mode, args.n) == (
        "m",
        "http://x",
        "f.jsonl",
        "train",
        3,
        "pot",
        4,
    )
    assert (args.temperature, args.max_rounds, args.prompt_format, args.out, args.data_dir) == (
        0.7,
        2,
        "tora",
        "o",
        "d",
    )
    assert (args.batch_size, args.max_tokens, args.workers, args.seed) == (8, 99, 2, 3)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["evaluate", "--model", "m", "--dataset", "a", "--data", "b"])
