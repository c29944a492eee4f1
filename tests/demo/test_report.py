"""The demo's report: verdict first, intervals, the scaling fit and the aggregate over seeds (synthetic
results, no training)."""

from __future__ import annotations

import pytest

from mathforge.demo.report import aggregate, render_aggregate, render_markdown, slope_fit, write_aggregate

CFG = {
    "seed": 0, "n_base": 100, "aug_copies": [0, 2, 9], "model": {}, "vocab_size": 512, "batch_size": 16,
    "lr": 2e-3, "steps_cot": 10, "steps_code": 10, "steps_stage2": 10, "steps_copy": 5, "copy_batch": 8,
    "n_check": 8, "check_every": 5, "check_target": 0.9, "max_rounds": 2, "parallel": 2, "threads": 1,
}  # fmt: skip


def model(key: str, correct: int, n: int = 40, examples: int = 0) -> dict:
    per = {f"test-{i:02d}": int(i < correct) for i in range(n)}
    return {"key": key, "label": f"({key})", "mode": "cot" if key == "a" else "tir", "accuracy": correct / n,
            "by_subject": {}, "train_steps": [10], "train_seconds": 1.0, "eval_seconds": 1.0,
            "code_examples": examples, "problems": n, "correct": correct, "check": 1.0, "passed_check": True,
            "per_problem": per}  # fmt: skip


def results(seed: int, a: int, c: tuple[int, int, int]) -> dict:
    models = [model("a", a), model("b", 2, examples=1000), model("c", c[2], examples=1000),
              model("c-x2", c[1], examples=300), model("c-x0", c[0], examples=100)]  # fmt: skip
    gap = round(100 * (c[2] - a) / 40, 1)
    return {"config": {**CFG, "seed": seed}, "models": models, "gap_points": gap, "timings": {},
            "wall_seconds_this_run": 1.0}  # fmt: skip


def test_a_missed_bar_is_the_first_line_and_accuracies_carry_intervals():
    text = render_markdown(results(0, a=10, c=(5, 10, 20)))  # gap 25 points
    assert text.splitlines()[0].startswith("**MISSED THE BAR")
    assert "[" in text.split("| (c) |")[1].split("|")[1]  # "50.0 [35, 65]"-style cell
    passed = render_markdown(results(0, a=0, c=(5, 10, 20)))
    assert passed.splitlines()[0].startswith("**PASS")


def test_the_report_says_whether_the_checks_stopped_training_or_were_only_recorded():
    gated = render_markdown(results(0, a=0, c=(5, 10, 20)))
    assert "until a held-out check of 8 training-distribution problems is 90% solved" in gated
    r = results(0, a=0, c=(5, 10, 20))
    r["config"] = {**CFG, "check_target": 1.01, "copy_check_target": 0.8}
    fixed = render_markdown(r)
    assert "recorded, not used to stop" in fixed and "101%" not in fixed
    assert "until 80% of its check copies are exact or 5 steps" in fixed
    r["config"] = {**r["config"], "steps_copy": 0}
    assert "copy pre-training off" in render_markdown(r)


def test_slope_of_a_rising_curve_is_positive_with_an_interval_around_it():
    r = results(0, a=0, c=(8, 20, 32))
    from mathforge.demo.report import _scaling_inputs

    fit = slope_fit([_scaling_inputs(r)], iters=300)
    # 20 -> 50 -> 80 % over one decade: about 60 points per decade
    assert fit["rising"] and 45 < fit["slope"] < 75
    lo, hi = fit["slope_ci"]
    assert lo < fit["slope"] < hi and lo > 0


def test_aggregate_reports_each_seed_mean_spread_and_whether_every_seed_passes(tmp_path):
    by_seed = {0: results(0, 0, (8, 20, 32)), 1: results(1, 2, (10, 18, 30)), 2: results(2, 30, (4, 12, 20))}
    agg = aggregate(by_seed)
    assert agg["seeds"] == [0, 1, 2] and not agg["every_seed_passes"]  # seed 2's gap is -25
    assert agg["models"]["c"]["mean"] == pytest.approx(100 * (32 + 30 + 20) / 120)
    assert agg["scaling"]["rising"]
    text = render_aggregate(agg, by_seed)
    assert text.splitlines()[0].startswith("**MISSED THE BAR") and "seed(s) 2" in text.splitlines()[0]
    assert "| **mean** |" in text and "| **range (sd)** |" in text
    write_aggregate(tmp_path, {0: by_seed[0], 1: by_seed[1]})
    assert (tmp_path / "report.md").read_text().startswith("**PASS")
    assert (tmp_path / "scaling.png").read_bytes()[:4] == b"\x89PNG"
