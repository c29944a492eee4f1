"""evaluate's run(cfg): predictions rows, metrics (graded by equivalence), report, resume; no model needed."""

from __future__ import annotations

import json

import pytest

from mathforge.evaluate import EvaluateConfig, run
from mathforge.io import DataError, read_jsonl


def ev(backend, problems, out, **settings):
    """One evaluation with a ready backend and problems (its own sandbox and grader, one worker each)."""
    cfg = EvaluateConfig(out=str(out), sandbox_workers=1, grade_workers=1, **settings)
    return run(cfg, backend=backend, problems=problems)


def rows(out):
    return [r for _, r in read_jsonl(out / "predictions.jsonl")]


def test_rows_metrics_and_report(tmp_path, toy_problems, arithmetic_backend):
    m = ev(
        backend=arithmetic_backend,
        problems=toy_problems,
        out=tmp_path,
    )
    preds = rows(tmp_path)
    assert [(r["id"], r["sample"]) for r in preds] == [("a", 0), ("b", 0), ("c", 0), ("d", 0)]
    c = next(r for r in preds if r["id"] == "c")
    # 0.25 was graded equivalent to \frac{1}{4}: not string equality
    assert c["answer"] == "0.25" and c["correct"] is True and c["grade_status"] == "ok"
    assert c["executions"] == [
        {
            "code": "print(1 / 4)",
            "output": "0.25",
            "status": "ok",
            "duration": c["executions"][0]["duration"],
            "replaced": 0,
        }
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


def test_self_consistency_metrics(tmp_path, toy_problems, arithmetic_backend):
    m = ev(
        backend=arithmetic_backend,
        problems=toy_problems[:3],
        out=tmp_path,
        n=4,
        temperature=0.8,
        seed=0,
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


def test_resume_skips_finished_rows(tmp_path, toy_problems, arithmetic_backend):
    ev(
        backend=arithmetic_backend,
        problems=toy_problems[:2],
        out=tmp_path,
    )
    calls = arithmetic_backend.calls
    m = ev(
        backend=arithmetic_backend,
        problems=toy_problems,
        out=tmp_path,
    )
    assert arithmetic_backend.calls - calls == 4  # only c and d ran (2 rounds each)
    assert sorted((r["id"], r["sample"]) for r in rows(tmp_path)) == [("a", 0), ("b", 0), ("c", 0), ("d", 0)]
    assert m["timing"]["resumed_samples"] == 2 and m["samples"] == 4
    # a torn last line (the process died mid-write) is dropped and that sample redone
    path = tmp_path / "predictions.jsonl"
    data = path.read_bytes()
    path.write_bytes(data[: data.rindex(b"\n", 0, len(data) - 1) + 1] + b'{"id": "d", "sam')
    ev(
        backend=arithmetic_backend,
        problems=toy_problems,
        out=tmp_path,
    )
    assert sorted((r["id"], r["sample"]) for r in rows(tmp_path)) == [("a", 0), ("b", 0), ("c", 0), ("d", 0)]


def test_resume_with_other_settings_is_refused(tmp_path, toy_problems, arithmetic_backend):
    ev(
        backend=arithmetic_backend,
        problems=toy_problems[:1],
        out=tmp_path,
    )
    with pytest.raises(DataError, match="mode"):
        ev(
            backend=arithmetic_backend,
            problems=toy_problems[:1],
            out=tmp_path,
            mode="pot",
        )


def test_pot_and_cot_modes(tmp_path, toy_problems, arithmetic_backend):
    m = ev(
        backend=arithmetic_backend,
        problems=toy_problems[:2],
        out=tmp_path / "pot",
        mode="pot",
    )
    assert m["accuracy"] == 1.0 and m["finish"] == {"program": 2}
    m = ev(
        backend=arithmetic_backend,
        problems=toy_problems[:2],
        out=tmp_path / "cot",
        mode="cot",
    )
    assert m["executions"]["total"] == 0


def test_a_failed_start_does_not_bind_the_output_folder(tmp_path, toy_problems, arithmetic_backend):
    """#12.10: a mistyped --model fails before any prediction; the corrected command may use the same --out."""
    with pytest.raises(DataError, match="does not exist"):
        run(
            EvaluateConfig(model=str(tmp_path / "typo"), out=str(tmp_path), mode="cot"), problems=toy_problems
        )
    m = ev(arithmetic_backend, toy_problems[:1], tmp_path, mode="pot")
    assert m["samples"] == 1


def test_an_interrupted_run_still_writes_partial_metrics(tmp_path, toy_problems, arithmetic_backend):
    """Ctrl-C (or any error) mid-run: metrics.json and report.md cover what finished, marked partial."""

    class Interrupting(type(arithmetic_backend)):
        def generate(self, prompts, params, on_finish=None):
            if self.calls >= 2:
                raise KeyboardInterrupt
            return super().generate(prompts, params, on_finish)

    with pytest.raises(KeyboardInterrupt):
        ev(Interrupting(), toy_problems, tmp_path, batch_size=1)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["partial"] == "KeyboardInterrupt" and metrics["samples"] == len(rows(tmp_path)) == 1
    assert "**Partial**" in (tmp_path / "report.md").read_text()


def test_config_records_the_dataset_hash_and_versions_and_grading_options_travel(
    tmp_path, arithmetic_backend
):
    """A number can be traced to its exact data file; a problem's grading options (here a tolerance) are
    applied by evaluate and kept in the row, so a re-grade applies the same rule."""
    import hashlib

    from mathforge.cli import main

    data = tmp_path / "p.jsonl"
    rows_in = [
        {"id": "t", "question": "What is 1 / 3?", "gold": "0.33", "meta": {"grading": {"rel_tol": 0.02}}},
        {"id": "s", "question": "What is 1 / 3?", "gold": "0.33"},  # no tolerance: 0.333... is not 0.33
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows_in))
    cfg = EvaluateConfig(out=str(tmp_path / "e"), dataset=str(data), sandbox_workers=1, grade_workers=1)
    m = run(cfg, backend=arithmetic_backend)
    config = json.loads((tmp_path / "e" / "config.json").read_text())
    assert config["dataset_sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert {"torch", "transformers", "mathforge"} <= set(config["versions"])
    preds = {r["id"]: r for r in rows(tmp_path / "e")}
    assert preds["t"]["correct"] and not preds["s"]["correct"] and preds["t"]["grading"] == {"rel_tol": 0.02}
    assert m["accuracy"] == 0.5
    assert main(["grade", str(tmp_path / "e" / "predictions.jsonl"), "--out", str(tmp_path / "g")]) == 0
    assert json.loads((tmp_path / "g" / "metrics.json").read_text())["accuracy"] == 0.5
