"""MARIO's loop on the tests' toy model: value data from the generator's own samples -> a value model ->
evaluate --n K --value-model (OVM@k beside maj@k and pass@k, plots). Small and fast; numbers not asserted."""

from __future__ import annotations

import json

import pytest

from mathforge.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def toy_problems_file(tiny_tir_model, tmp_path_factory):
    rows = [json.loads(x) for x in (tiny_tir_model / "toy_examples.jsonl").read_text().splitlines() if x][:6]
    path = tmp_path_factory.mktemp("ovm") / "problems.jsonl"
    path.write_text("".join(json.dumps({"id": r["id"], "question": r["question"], "gold": r["answer"]}) + "\n"
                            for r in rows))  # fmt: skip
    return path


def test_value_data_then_a_value_model_then_reranking(tiny_tir_model, toy_problems_file, tmp_path):
    values = tmp_path / "values.jsonl"
    common = ["--model", str(tiny_tir_model), "--dataset", str(toy_problems_file), "--max-tokens", "64",
              "--sandbox-workers", "1", "--grade-workers", "1"]  # fmt: skip
    assert main(["ovm", "data", *common, "--k", "3", "--temperature", "1.5", "--out", str(values)]) == 0
    rows = [json.loads(x) for x in values.read_text().splitlines()]
    stats = json.loads(values.with_suffix(".stats.json").read_text())
    assert stats["samples"] == 6 * 3 and stats["rows"] == len(rows) == 6 * 3 - stats["duplicates_dropped"]
    assert {"correct", "prompt", "solution", "problem_accuracy", "generator"} <= set(rows[0])
    assert all(r["prompt"].startswith("Question: ") for r in rows)
    # an ovm stage on them (a handful of steps: the pipeline, not the quality, is under test here)
    recipe = tmp_path / "ovm.yaml"
    recipe.write_text(json.dumps({"output_dir": str(tmp_path / "run"), "base_model": str(tiny_tir_model), "stages": [
        {"name": "ovm", "type": "ovm", "data": [str(values)], "max_steps": 3, "batch_size": 4, "packing": False,
         "save_steps": 0, "lr": 1e-3}]}))  # fmt: skip
    assert main(["train", "--config", str(recipe)]) == 0
    value_model = tmp_path / "run" / "ovm"
    assert (value_model / "value_head.safetensors").exists()
    out = tmp_path / "eval"
    assert main(["evaluate", *common, "--n", "4", "--temperature", "1.0", "--out", str(out),
                 "--value-model", str(value_model)]) == 0  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    rules = metrics["rerank"]["rules"]
    assert {"maj", "ovm", "weighted", "maj_value", "outlier_free(0.2)", "outlier_free(0.4)", "pass"} == set(
        rules
    )
    assert (
        set(rules["ovm"]) == {"1", "2", "4"} and rules["pass"]["4"] >= rules["ovm"]["4"]
    )  # pass@k bounds a pick
    assert (out / "rerank_k.png").stat().st_size > 0 and (out / "calibration.png").stat().st_size > 0
    assert "Reranking with a value model" in (out / "report.md").read_text()
    scores = [json.loads(x) for x in (out / "scores.jsonl").read_text().splitlines()]
    assert len(scores) == 24
    # `ovm rerank` on the same run reuses the scores and writes the same table
    assert main(["ovm", "rerank", str(out), "--value-model", str(value_model)]) == 0
    assert json.loads((out / "rerank.json").read_text())["rules"] == rules
