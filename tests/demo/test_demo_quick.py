"""`mathforge demo --quick` end to end: report and plots written, same seed -> same numbers, resume skips."""

from __future__ import annotations

import json

import pytest

from mathforge.cli import main


def numbers(out) -> dict:
    """Everything that must repeat exactly: accuracies per model and subset, and every training loss."""
    results = json.loads((out / "results.json").read_text())
    losses = {}
    for stage in sorted((out / "train").iterdir()):
        summary = json.loads((stage / "train_summary.json").read_text())
        losses[stage.name] = [round(h["loss"], 6) for h in summary["loss_curve"]]
    models = {m["key"]: (m["accuracy"], m["by_subject"], m["train_steps"]) for m in results["models"]}
    return {"models": models, "gap": results["gap_points"], "losses": losses}


@pytest.mark.slow
def test_quick_demo_end_to_end_reproducible_and_resumable(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["demo", "--quick", "--seed", "1", "--out", str(first)]) == 0
    for name in ("report.md", "report.html", "accuracy.png", "scaling.png", "results.json"):
        assert (first / name).stat().st_size > 0, name
    assert (first / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (first / "report.md").read_text()
    assert "(a) CoT only" in report and "(c) two-stage" in report and "Gap (c) - (a)" in report
    # the verdict comes first (a toy budget misses the bar, and says so on line 1)
    assert report.splitlines()[0].startswith("**MISSED THE BAR") or report.startswith("**PASS")
    assert "Log-linear fit" in report
    # every model starts from the copy-pre-trained base; every stage's held-out check is on disk
    assert json.loads((first / "base" / "train_summary.json").read_text())["global_step"] >= 1
    for stage in ("cot", "code-scratch", "code-after-cot-x2"):
        history = json.loads((first / "train" / stage / "check.json").read_text())["history"]
        assert history and all(0 <= h["solved"] <= 1 for h in history)
    results = json.loads((first / "results.json").read_text())
    assert {m["key"] for m in results["models"]} == {"a", "b", "c", "c-x0", "c-x1"}  # 3 scaling sizes
    assert all(len(m["train_steps"]) == (2 if m["key"].startswith("c") else 1) for m in results["models"])
    # MARIO's rows were made in a worker of the pool (beside the last scaling runs), each timed
    assert [r["key"] for r in results["mario"]] == ["ovm", "selftrain"]
    first_timings = json.loads((first / "timings.json").read_text())
    for name in ("OVM reranking of (c)", "one self-training round of (c)"):
        assert first_timings[name]["skipped"] is False and first_timings[name]["seconds"] > 0
    assert (first / "logs" / "mario.log").stat().st_size > 0
    # every model was scored through `mathforge evaluate` on the whole held-out set
    for key in ("a", "b", "c"):
        metrics = json.loads((first / "eval" / key / "metrics.json").read_text())
        assert metrics["problems"] == 6 and metrics["config"]["mode"] == ("cot" if key == "a" else "tir")
        assert (first / "eval" / key / "report.html").stat().st_size > 0  # evaluate's page of this model

    assert main(["demo", "--quick", "--seed", "1", "--out", str(second)]) == 0
    assert numbers(second) == numbers(first)

    # a re-run over finished outputs skips every stage and reports the same numbers
    before = numbers(first)
    assert main(["demo", "--quick", "--seed", "1", "--out", str(first)]) == 0
    timings = json.loads((first / "timings.json").read_text())
    assert all(t.get("skipped") for name, t in timings.items() if name != "report")
    assert numbers(first) == before
