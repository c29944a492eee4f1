"""evaluate --shard I/N and `mathforge merge`: the merged rows and metrics are the unsharded run's; a missing
shard or sample is named and nothing is written (unless --partial)."""

from __future__ import annotations

import json

import pytest

from mathforge.evaluate import EvaluateConfig, run
from mathforge.merge import MergeConfig
from mathforge.merge.runner import report as merge_report
from mathforge.merge.runner import run as merge

from .conftest import Problem

#: measured durations: the only fields that differ between two runs of a deterministic model
TIMINGS = ("gen_seconds", "exec_seconds")


def _problems():
    exprs = ["2 + 3", "6 * 7", "1 / 4", "10 - 3", "9 * 9", "2 ** 10", "100 - 1"]
    return [Problem(f"p{i}", f"What is {e}?", str(eval(e)).removesuffix(".0"), meta={"level": f"Level {i % 3}"})
            for i, e in enumerate(exprs)]  # fmt: skip


def _canonical(path):
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    for r in rows:
        for k in TIMINGS:
            r.pop(k)
        for e in r["executions"]:
            e.pop("duration")
    order = {f"p{i}": i for i in range(7)}
    return sorted(rows, key=lambda r: (order[r["id"]], r["sample"]))


def _evaluate(out, backend, sandbox, **kw):
    # greedy: the scripted model's sampled answers depend on a row's place in its batch, which sharding
    # changes; the equality holds "where decoding is deterministic"
    cfg = EvaluateConfig(dataset="toy", out=str(out), n=2, temperature=0.0, grade_workers=1, **kw)
    return run(cfg, problems=_problems(), backend=backend)


def _same_metrics(a: dict, b: dict):
    drop = ("config", "timing", "shards")
    assert {k: v for k, v in a.items() if k not in drop} == {k: v for k, v in b.items() if k not in drop}


def test_three_shards_merged_equal_the_unsharded_run(tmp_path, arithmetic_backend, sandbox, monkeypatch):
    from mathforge.evaluate import runner

    monkeypatch.setattr(runner.EvaluateConfig, "make_sandbox", lambda self: _Borrowed(sandbox))
    whole = _evaluate(tmp_path / "whole", arithmetic_backend, sandbox)
    parts = tmp_path / "parts"
    for i in range(3):
        m = _evaluate(parts, arithmetic_backend, sandbox, shard=f"{i}/3")
        assert m["problems"] == len(range(i, 7, 3))
    manifest = json.loads((parts / "shard-1-of-3" / "shard.json").read_text())
    assert manifest["ids"] == ["p1", "p4"] and manifest["finished"] and manifest["total"] == 7
    result = merge(MergeConfig(out=str(parts), grade_workers=1))
    assert result["complete"] and result["written"] and merge_report(MergeConfig(out=str(parts)), result) == 0
    merged = [json.loads(x) for x in (parts / "predictions.jsonl").read_text().splitlines()]
    assert [(r["id"], r["sample"]) for r in merged] == [(f"p{i}", s) for i in range(7) for s in range(2)]
    assert _canonical(parts / "predictions.jsonl") == _canonical(tmp_path / "whole" / "predictions.jsonl")
    metrics = json.loads((parts / "metrics.json").read_text())  # computed from the merged rows
    _same_metrics(metrics, whole)
    assert "maj@2" in metrics and metrics["samples"] == 14 and metrics["timing"]["shards"] == 3
    config = json.loads((parts / "config.json").read_text())
    assert config["shard"] is None and config["merged_shards"] == 3
    assert (parts / "report.md").read_text().startswith("# Evaluation")


def test_a_missing_shard_or_sample_is_named_and_nothing_is_written(tmp_path, arithmetic_backend, sandbox,
                                                                    monkeypatch, capsys):  # fmt: skip
    from mathforge.evaluate import runner

    monkeypatch.setattr(runner.EvaluateConfig, "make_sandbox", lambda self: _Borrowed(sandbox))
    for i in (0, 1):  # shard 2/3 never ran
        _evaluate(tmp_path, arithmetic_backend, sandbox, shard=f"{i}/3")
    preds = tmp_path / "shard-1-of-3" / "predictions.jsonl"
    lines = preds.read_text().splitlines()
    preds.write_text("".join(x + "\n" for x in lines if '"p4"' not in x or '"sample": 1' not in x))
    result = merge(MergeConfig(out=str(tmp_path), grade_workers=1))
    assert not result["complete"] and not result["written"]
    assert result["missing_shards"] == ["2/3 (2 items)"] and result["missing"] == ["p4 sample 1"]
    assert not (tmp_path / "predictions.jsonl").exists()
    assert merge_report(MergeConfig(out=str(tmp_path)), result) == 1
    said = capsys.readouterr().out
    assert "2/3" in said and "p4 sample 1" in said
    partial = merge(MergeConfig(out=str(tmp_path), partial=True, grade_workers=1))
    assert partial["written"] and "p4 sample 1" in partial["metrics"]["partial"]
    assert partial["metrics"]["samples"] == 9  # shard 0 (3 problems x 2) + shard 1 (p1 x 2, p4 x 1)


def test_shards_of_different_runs_are_refused(tmp_path, arithmetic_backend, sandbox, monkeypatch):
    from mathforge.evaluate import runner
    from mathforge.io import DataError

    monkeypatch.setattr(runner.EvaluateConfig, "make_sandbox", lambda self: _Borrowed(sandbox))
    _evaluate(tmp_path, arithmetic_backend, sandbox, shard="0/2")
    _evaluate(tmp_path, arithmetic_backend, sandbox, shard="1/2", max_rounds=2)  # another setting
    with pytest.raises(DataError) as err:
        merge(MergeConfig(out=str(tmp_path)))
    assert err.value.field == "max_rounds" and "not parts of one run" in str(err.value)


def test_the_shard_setting_is_checked():
    with pytest.raises(ValueError, match="I counts from 0"):
        EvaluateConfig(shard="3/3")
    with pytest.raises(ValueError, match="I/N"):
        EvaluateConfig(shard="first")
    assert EvaluateConfig(shard=" 1 / 4 ").shard == "1/4"


class _Borrowed:
    """The shared test sandbox as a context manager that does not close it."""

    def __init__(self, sandbox):
        self.sandbox = sandbox

    def __enter__(self):
        return self.sandbox

    def __exit__(self, *exc):
        return None
