"""Intervals, the paired test on constructed cases, the suite table and its resume, compare."""

from __future__ import annotations

import json
from math import comb

import pytest

from mathforge.cli import main
from mathforge.evaluate import EvaluateConfig, run
from mathforge.evaluate.stats import bootstrap_ci, mcnemar_exact, paired_bootstrap, standard_error, wilson


def test_intervals():
    values = [1.0] * 30 + [0.0] * 70
    lo, hi = bootstrap_ci(values, seed=1)
    assert lo < 0.3 < hi and hi - lo < 0.25 and bootstrap_ci(values, seed=1) == (lo, hi)  # seeded
    assert standard_error(values) == pytest.approx((0.3 * 0.7 / 99) ** 0.5 * (100 / 100), rel=0.01)
    w = wilson(0, 20)
    assert w[0] == 0.0 and 0.1 < w[1] < 0.2


def test_mcnemar_on_constructed_cases():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(10, 0) == pytest.approx(2 / 2**10)  # ten flips, all one way
    assert mcnemar_exact(8, 2) == pytest.approx(2 * sum(comb(10, i) for i in range(3)) / 2**10)
    assert mcnemar_exact(2, 8) == mcnemar_exact(8, 2)
    diff, lo, hi, share = paired_bootstrap([0.0] * 40, [1.0] * 10 + [0.0] * 30)
    assert diff == 0.25 and 0.1 < lo < diff < hi and share < 0.01


def test_a_suite_runs_each_dataset_into_its_folder_resumes_and_writes_one_table(
    tmp_path, arithmetic_backend, data_dir
):
    suite = tmp_path / "s.yaml"
    suite.write_text("description: two small sets\ndatasets: [svamp, asdiv]\nlabels: {svamp: SVAMP}\n"
                     "reference:\n  A paper: {svamp: 50.0}\n")  # fmt: skip
    cfg = EvaluateConfig(suite=str(suite), out=str(tmp_path / "out"), limit=3, mode="cot", data_dir=str(data_dir),
                         sandbox_workers=1, grade_workers=1)  # fmt: skip
    table = run(cfg, backend=arithmetic_backend)
    assert table["datasets"] == ["svamp", "asdiv"] and table["problems"] == {"svamp": 3, "asdiv": 3}
    assert (tmp_path / "out" / "svamp" / "predictions.jsonl").exists()
    md = (tmp_path / "out" / "suite.md").read_text()
    assert "| model | SVAMP | asdiv | Average |" in md and "| A paper | 50.0 | - | - |" in md
    calls = arithmetic_backend.calls
    assert run(cfg, backend=arithmetic_backend)["accuracy"] == table["accuracy"]
    assert arithmetic_backend.calls == calls  # every dataset resumed: nothing generated again


def test_the_shipped_suites_name_known_datasets():
    from mathforge.data.loaders import canonical_name
    from mathforge.evaluate.suites import load_suite

    for name in ("tora-ood", "mario", "competition", "easy-word"):
        suite = load_suite(name)
        assert all(canonical_name(d) for d in suite["datasets"]), name
    assert load_suite("mario")["reference"]["MARIO-7B (paper)"] == {"gsm8k": 70.1, "math": 46.3}


def test_compare_counts_flips_and_tests_them(tmp_path):
    def write(folder, correct):
        folder.mkdir()
        (folder / "predictions.jsonl").write_text("".join(
            json.dumps({"id": f"p{i}", "gold": "1", "correct": c, "subject": "A" if i < 5 else "B"}) + "\n"
            for i, c in enumerate(correct)))  # fmt: skip

    write(tmp_path / "a", [False] * 8 + [True] * 2)
    write(tmp_path / "b", [True] * 6 + [False] * 2 + [True, False])
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c")]) == 0
    result = json.loads((tmp_path / "c" / "compare.json").read_text())
    c = result["comparisons"][str(tmp_path / "b")]
    assert c["flips"] == {"fixed": 6, "broken": 1, "both_right": 1, "both_wrong": 2}
    assert c["mcnemar_p"] == pytest.approx(mcnemar_exact(6, 1)) and c["difference"] == pytest.approx(0.5)
    assert set(c["by_subject"]) == {"A", "B"}


def test_compare_joins_a_suites_datasets_and_keeps_same_ids_apart(tmp_path):
    """Two datasets may number their problems alike (p0, p1, ...): a suite comparison keys them by dataset."""
    from mathforge.evaluate.compare import load

    def write(run, correct_by_dataset):
        for dataset, correct in correct_by_dataset.items():
            (run / dataset).mkdir(parents=True)
            (run / dataset / "predictions.jsonl").write_text("".join(
                json.dumps({"id": f"p{i}", "gold": "1", "correct": c, "dataset": dataset}) + "\n"
                for i, c in enumerate(correct)))  # fmt: skip
        (run / "suite.json").write_text("{}")

    write(tmp_path / "a", {"svamp": [False, False, True], "asdiv": [False, True]})
    write(tmp_path / "b", {"svamp": [True, True, True], "asdiv": [False, False]})
    assert set(load(str(tmp_path / "a"))) == {"svamp/p0", "svamp/p1", "svamp/p2", "asdiv/p0", "asdiv/p1"}
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c")]) == 0
    c = json.loads((tmp_path / "c" / "compare.json").read_text())["comparisons"][str(tmp_path / "b")]
    assert c["problems"] == 5
    assert c["flips"] == {"fixed": 2, "broken": 1, "both_right": 1, "both_wrong": 1}
    assert set(c["by_subject"]) == {"svamp", "asdiv"}
