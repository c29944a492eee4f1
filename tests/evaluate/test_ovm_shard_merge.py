"""ovm data --shard I/N + `mathforge merge`: the merged value rows are the unsharded run's bytes; --balance is
refused with --shard and reached instead by merging the samples and labelling once, with no new request."""

from __future__ import annotations

import json

import pytest

import mathforge.evaluate
from mathforge.merge import MergeConfig
from mathforge.merge.runner import run as merge
from mathforge.ovm.data import OvmDataConfig
from mathforge.ovm.data import run as ovm_data

from .test_shard_merge import _Borrowed

EXPRS = ["2 + 3", "6 * 7", "1 / 4", "10 - 3", "9 * 9", "2 ** 10", "100 - 1"]


@pytest.fixture
def problems_file(tmp_path):
    path = tmp_path / "problems.jsonl"
    # every third gold is wrong, so there are wrong rows to label and balance
    path.write_text("".join(json.dumps({"id": f"p{i}", "question": f"What is {e}?",
                                        "gold": str(eval(e) + (1 if i % 3 == 2 else 0)).removesuffix(".0")}) + "\n"
                            for i, e in enumerate(EXPRS)))  # fmt: skip
    return path


@pytest.fixture
def scripted(arithmetic_backend, sandbox, monkeypatch):
    """evaluate (which ovm data samples through) on the scripted backend and the shared sandbox."""
    from mathforge.evaluate import runner

    real = runner.run
    monkeypatch.setattr(runner.EvaluateConfig, "make_sandbox", lambda self: _Borrowed(sandbox))
    monkeypatch.setattr(mathforge.evaluate, "run", lambda cfg, **kw: real(cfg, backend=arithmetic_backend))
    return arithmetic_backend


def _cfg(problems_file, out, **kw):
    # greedy: the scripted model's sampled answers depend on a row's place in its batch, which sharding changes
    return OvmDataConfig(
        dataset=str(problems_file), out=str(out), k=2, temperature=0.0, grade_workers=1, **kw
    )


def test_shards_merged_are_byte_identical_to_the_unsharded_value_rows(tmp_path, problems_file, scripted):
    whole = tmp_path / "whole" / "values.jsonl"
    stats = ovm_data(_cfg(problems_file, whole))
    assert stats["wrong"] > 0 and stats["correct"] > 0
    parts = tmp_path / "parts" / "values.jsonl"
    for i in range(3):
        assert ovm_data(_cfg(problems_file, parts, shard=f"{i}/3"))["problems"] == len(range(i, 7, 3))
    assert (tmp_path / "parts" / "values.samples" / "shard-2-of-3" / "predictions.jsonl").exists()
    manifest = json.loads((tmp_path / "parts" / "values.shard-1-of-3.shard.json").read_text())
    assert manifest["stage"] == "ovm data" and manifest["ids"] == ["p1", "p4"] and manifest["finished"]
    assert not parts.exists()
    result = merge(MergeConfig(out=str(parts), grade_workers=1))
    assert result["complete"] and result["written"]
    assert parts.read_bytes() == whole.read_bytes()
    assert [json.loads(x)["problem_id"] for x in parts.read_text().splitlines()][:2] == [
        "p0",
        "p1",
    ]  # loaded order
    summed = json.loads(parts.with_suffix(".stats.json").read_text())
    for key in (
        "problems",
        "samples",
        "rows",
        "correct",
        "wrong",
        "duplicates_dropped",
        "problems_all_wrong",
    ):
        assert summed[key] == stats[key], key
    assert summed["shards"] == 3


def test_a_missing_shard_is_named_and_nothing_is_written(tmp_path, problems_file, scripted):
    parts = tmp_path / "values.jsonl"
    for i in (0, 2):
        ovm_data(_cfg(problems_file, parts, shard=f"{i}/3"))
    result = merge(MergeConfig(out=str(parts), grade_workers=1))
    assert not result["complete"] and not result["written"] and result["missing_shards"] == ["1/3 (2 items)"]
    assert not parts.exists()


def test_balance_is_refused_with_a_shard_and_reached_by_merging_the_samples(
    tmp_path, problems_file, scripted
):
    with pytest.raises(ValueError, match="mathforge merge OUT.samples"):
        _cfg(problems_file, tmp_path / "v.jsonl", balance=True, shard="0/2")
    whole = tmp_path / "whole" / "values.jsonl"
    ovm_data(_cfg(problems_file, whole, balance=True))
    parts = tmp_path / "parts" / "values.jsonl"
    for i in range(2):
        ovm_data(_cfg(problems_file, parts, shard=f"{i}/2"))
    assert merge(MergeConfig(out=str(parts.with_suffix(".samples")), grade_workers=1))["written"]
    calls = scripted.calls
    ovm_data(_cfg(problems_file, parts, balance=True))  # resumes from the merged samples
    assert scripted.calls == calls, "labelling merged samples sends no request"
    assert parts.read_bytes() == whole.read_bytes()
