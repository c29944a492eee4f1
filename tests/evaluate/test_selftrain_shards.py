"""self-train --shard I/N: shards sample a round, the run without --shard merges them and finishes the round;
two rounds this way give the unsharded run's new paths and records, and a missing shard is named."""

from __future__ import annotations

import json

import pytest

import mathforge.evaluate
from mathforge.io import DataError
from mathforge.selftrain import rounds
from mathforge.selftrain.config import SelfTrainConfig

from .test_shard_merge import _Borrowed

EXPRS = ["2 + 3", "6 * 7", "1 / 4", "10 - 3", "9 * 9", "2 ** 10", "100 - 1"]


@pytest.fixture
def inputs(tmp_path):
    problems = tmp_path / "problems.jsonl"
    # p2 and p5 have a wrong gold: never verified, so round 2 samples them again
    problems.write_text("".join(json.dumps({"id": f"p{i}", "question": f"What is {e}?",
                                            "gold": str(eval(e) + (i in (2, 5))).removesuffix(".0")}) + "\n"
                                for i, e in enumerate(EXPRS)))  # fmt: skip
    data = tmp_path / "data.jsonl"  # p0 is covered already
    data.write_text(json.dumps({"id": "d0", "source_id": "p0", "question": "What is 2 + 3?",
                                "solution": "\\boxed{5}"}) + "\n")  # fmt: skip
    return problems, data


@pytest.fixture
def scripted(arithmetic_backend, sandbox, monkeypatch):
    """Sampling on the scripted backend; retraining names the next model instead of training one."""
    from mathforge.evaluate import runner

    real = runner.run
    monkeypatch.setattr(runner.EvaluateConfig, "make_sandbox", lambda self: _Borrowed(sandbox))
    monkeypatch.setattr(mathforge.evaluate, "run", lambda cfg, **kw: real(cfg, backend=arithmetic_backend))
    monkeypatch.setattr(rounds, "retrain", lambda cfg, r, out, generator, data: f"{generator}+r{r}")
    return arithmetic_backend


def _cfg(inputs, out, **kw):
    problems, data = inputs
    # greedy: the scripted model's sampled answers depend on a row's place in its batch, which sharding changes
    return SelfTrainConfig(model="toy", dataset=str(problems), data=[str(data)], out=str(out), rounds=2, k=2,
                           temperature=0.0, decontaminate=False, grade_workers=1, **kw)  # fmt: skip


def _lines(path):
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_sharded_rounds_give_the_unsharded_paths_and_records(tmp_path, inputs, scripted):
    whole = tmp_path / "whole"
    records = rounds.run(_cfg(inputs, whole))
    assert [r["todo_problems"] for r in records] == [6, 2] and records[0]["paths_added"] == 4
    parts = tmp_path / "parts"
    for r in (1, 2):
        for i in range(3):
            assert rounds.run(_cfg(inputs, parts, shard=f"{i}/3")) == records[: r - 1]  # samples only
        assert (parts / f"round-{r}" / "samples" / "shard-2-of-3" / "shard.json").exists()
        assert not (parts / f"round-{r}" / "new.jsonl").exists()
        finished = rounds.run(_cfg(inputs, parts))  # merges, verifies, retrains; stops after round r
        assert finished == records[:r]
    for r in (1, 2):
        for name in ("todo.jsonl", "new.jsonl"):
            assert (parts / f"round-{r}" / name).read_bytes() == (whole / f"round-{r}" / name).read_bytes()
    assert (parts / "rounds.jsonl").read_bytes() == (whole / "rounds.jsonl").read_bytes()
    calls = scripted.calls
    assert rounds.run(_cfg(inputs, parts, shard="0/3")) == records and scripted.calls == calls  # all done


def test_a_missing_shard_stops_the_finishing_run_and_is_named(tmp_path, inputs, scripted):
    out = tmp_path / "st"
    for i in (0, 2):
        rounds.run(_cfg(inputs, out, shard=f"{i}/3"))
    with pytest.raises(DataError, match=r"1/3 \(2 items\)"):
        rounds.run(_cfg(inputs, out))
    assert not (out / "round-1" / "new.jsonl").exists() and not _lines(out / "rounds.jsonl")
    rounds.run(_cfg(inputs, out, shard="1/3"))  # the missing shard, then the round finishes
    assert rounds.run(_cfg(inputs, out))[0]["samples"] == 6 * 2


@pytest.mark.parametrize(
    ("retrain_from", "replay", "start", "files"),
    [("previous", False, "gen", ["new"]), ("previous", True, "gen", ["data", "r1", "new"]),
     ("base", False, "base", ["data", "r1", "new"])],
)  # fmt: skip
def test_retraining_starts_and_trains_on_what_its_settings_say(tmp_path, monkeypatch, retrain_from, replay,
                                                               start, files):  # fmt: skip
    """replay: the previous model fine-tuned on all paths, not only this round's (which overfit, docs/DEMO.md)."""
    import mathforge.train

    paths = {name: tmp_path / f"{name}.jsonl" for name in ("data", "r1", "new")}
    for p in paths.values():
        p.write_text('{"id": "x"}\n')
    seen = {}
    monkeypatch.setattr(mathforge.train, "train", lambda recipe: seen.update(recipe) or [tmp_path / "next"])
    cfg = SelfTrainConfig(model="gen", base_model="base", dataset="p.jsonl", out=str(tmp_path / "st"),
                          retrain_from=retrain_from, replay=replay)  # fmt: skip
    assert rounds.retrain(cfg, 1, tmp_path / "train", "gen", list(paths.values())) == str(tmp_path / "next")
    assert seen["base_model"] == start
    assert seen["stages"][0]["data"] == [str(paths[f]) for f in files]
