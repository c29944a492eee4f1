"""``mathforge study scaling`` end to end at toy scale: a micro model, tagged toy rows, two test sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mathforge.study import ScalingStudyConfig
from mathforge.study.scaling import run
from mathforge.train.toy import toy_tir_examples

MICRO = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
             intermediate_size=64, max_position_embeddings=256)  # fmt: skip


@pytest.fixture(scope="module")
def study_inputs(tmp_path_factory):
    from mathforge.train import init_model

    tmp = tmp_path_factory.mktemp("study")
    examples = toy_tir_examples(24, seed=11)
    train, tests = examples[:20], examples[20:]
    rows = []
    for i, ex in enumerate(train):
        for r in range(2):  # two responses per query
            rows.append({"id": f"{ex['id']}/aug/{r}", "question": ex["question"], "solution": ex["solution"],
                         "source_id": f"seed-{i}", "method": "perturb" if i % 2 else "rephrase"})  # fmt: skip
    # one row made from a test problem: it must be dropped, never trained on
    rows.append({"id": "leak/aug/0", "question": tests[0]["question"], "solution": tests[0]["solution"],
                 "source_id": "test-0", "method": "perturb"})  # fmt: skip
    (tmp / "aug.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp / "orig.jsonl").write_text(json.dumps({"id": "o0", "question": train[0]["question"],
                                                "solution": train[0]["solution"]}) + "\n")  # fmt: skip
    for name, part in (("in_domain", tests[:2]), ("ood", tests[2:])):
        (tmp / f"{name}.jsonl").write_text("".join(
            json.dumps({"id": f"test-{i}" if name == "in_domain" else f"ood-{i}", "question": ex["question"],
                        "gold": ex["answer"]}) + "\n" for i, ex in enumerate(part)))  # fmt: skip
    base = init_model(tmp / "base", "tiny", texts=[e["prompt"] + e["completion"] for e in examples],
                      vocab_size=300, **MICRO)  # fmt: skip
    return tmp, base


def config(tmp: Path, base: Path) -> ScalingStudyConfig:
    return ScalingStudyConfig(
        out=str(tmp / "out"), data=[str(tmp / "aug.jsonl")], original=[str(tmp / "orig.jsonl")],
        base_model=str(base), axes=["queries", "responses"], queries=[2, 4, 8, 20], responses=[1, 2],
        eval_datasets=[str(tmp / "in_domain.jsonl"), str(tmp / "ood.jsonl")],
        train_stage={"max_steps": 2, "batch_size": 4, "lr": 1e-3, "save_steps": 0, "logging_steps": 1},
        prompt_format="plain", max_tokens=12, max_rounds=1, batch_size=4, bootstrap=50, sandbox_workers=1,
    )  # fmt: skip


def test_toy_study_trains_every_subset_fits_and_resumes(study_inputs):
    tmp, base = study_inputs
    results = run(config(tmp, base))
    out = tmp / "out"
    keys = [r["key"] for r in results["runs"]]
    # the original rows alone, four query sizes, two response counts (all 20 queries with one response is a
    # point of both axes, listed twice, trained once), one run per augmentation type at an equal budget
    assert keys == ["original", "q00002-r001", "q00004-r001", "q00008-r001", "q00020-r001", "q00020-r001",
                    "q00020-r002", "type-perturb", "type-rephrase"]  # fmt: skip
    assert results["leaks_dropped"] == 1
    assert all(
        "leak" not in line for line in (out / "runs" / "q00020-r002" / "train.jsonl").read_text().splitlines()
    )

    # nested: each grid subset contains the smaller one (plus the original row in every subset)
    def ids(key):
        return {json.loads(x)["id"] for x in (out / "runs" / key / "train.jsonl").read_text().splitlines()}

    assert ids("original") == {"o0"}
    assert ids("q00002-r001") < ids("q00004-r001") < ids("q00008-r001") < ids("q00020-r001")
    assert ids("q00020-r001") < ids("q00020-r002")
    assert [r["examples"] for r in results["runs"][1:7]] == [2, 4, 8, 20, 20, 40]
    assert results["runs"][-1]["examples"] == results["runs"][-2]["examples"] == 20  # equal budget per type
    # every model evaluated on both test sets; a fit per axis and test set, its interval around the slope
    for r in results["runs"]:
        assert set(r["accuracy"]) == {"in_domain", "ood"}
        assert all(a["problems"] == 2 for a in r["accuracy"].values())
    fit = results["fits"]["queries"]["in_domain"]
    assert fit["sizes"] == [2, 4, 8, 20] and "segmented" in fit
    # the micro model barely trains, so the values are not asserted (tests/study/test_fits.py checks the fits)
    assert fit["slope_ci95"][0] <= fit["slope_ci95"][1] and 0.0 <= fit["accuracy"][0] <= 1.0
    assert results["fits"]["responses"]["ood"]["sizes"] == [20, 40]
    assert set(results["transfer"]) == {"perturb", "rephrase", "original only", "all types"}
    for name in ("report.md", "results.json", "scaling.png", "transfer.png", "types.png"):
        assert (out / name).stat().st_size > 0, name
    assert "| q00004-r001 | queries | 4 |" in (out / "report.md").read_text()

    # a re-run trains nothing and generates nothing: every step's output is reused
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/train/sft/train_summary.json")}
    preds = {p: p.read_text() for p in out.glob("runs/*/eval/*/predictions.jsonl")}
    assert len(stamps) == 8 and len(preds) == 16
    again = run(config(tmp, base))
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert {p: p.read_text() for p in preds} == preds
    assert again["runs"] == results["runs"]
