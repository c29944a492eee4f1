"""A self-training round on the tests' toy model: only uncovered problems are sampled, verified paths are
kept once, the model is retrained and evaluated; kill -9 mid-round and a re-run adds no path twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

pytestmark = pytest.mark.slow


@pytest.fixture
def setup(tiny_tir_model, tmp_path):
    rows = [json.loads(x) for x in (tiny_tir_model / "toy_examples.jsonl").read_text().splitlines() if x][:8]
    problems = tmp_path / "problems.jsonl"
    problems.write_text("".join(json.dumps({"id": r["id"], "question": r["question"], "gold": r["answer"]}) + "\n"
                                for r in rows))  # fmt: skip
    data = tmp_path / "data.jsonl"  # the first three problems are covered already
    data.write_text("".join(json.dumps({"id": r["id"], "source_id": r["id"], "question": r["question"],
                                        "solution": r["solution"]}) + "\n" for r in rows[:3]))  # fmt: skip
    cfg = {"model": str(tiny_tir_model), "dataset": str(problems), "data": [str(data)], "out": str(tmp_path / "st"),
           "k": 3, "temperature": 0.7, "max_tokens": 64, "eval_dataset": str(problems), "decontaminate": False,
           "sandbox_workers": 1, "grade_workers": 1,
           "train_stage": {"max_steps": 2, "batch_size": 4, "packing": False, "save_steps": 0, "lr": 1e-4}}  # fmt: skip
    path = tmp_path / "st.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path, tmp_path / "st", rows


def _lines(path):
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


def test_a_round_samples_what_is_uncovered_and_keeps_verified_paths_once(setup):
    from mathforge.cli import main

    config, out, rows = setup
    assert main(["self-train", "--config", str(config)]) == 0
    todo = _lines(out / "round-1" / "todo.jsonl")
    assert [t["id"] for t in todo] == [r["id"] for r in rows[3:]]  # covered problems are not sampled
    new = _lines(out / "round-1" / "new.jsonl")
    (record,) = _lines(out / "rounds.jsonl")
    assert record["samples"] == 5 * 3 and record["paths_added"] == len(new) <= record["verified"]
    assert all(r["gold"] for r in new) and all(r["source_id"] in {t["id"] for t in todo} for r in new)
    assert len({(r["source_id"], r["solution"]) for r in new}) == len(
        new
    )  # greedy-ish samples collapse: no repeats
    assert record["accuracy_before"] is not None and record["accuracy_after"] is not None
    assert (out / "round-1" / "train" / "sft" / "train_summary.json").exists()
    assert "| 1 | 5 | 15 |" in (out / "report.md").read_text()


def test_kill_9_mid_round_then_resume_adds_no_path_twice(setup):
    config, out, _ = setup
    env = {**os.environ, "MATHFORGE_NO_PROGRESS": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "mathforge.cli", "self-train", "--config", str(config)]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    preds = out / "round-1" / "samples" / "predictions.jsonl"
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None and len(_lines(preds)) < 4:
            time.sleep(0.05)
        assert proc.poll() is None, (
            "the round ended before it could be killed: " + proc.stderr.read().decode()[-2000:]
        )
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    samples = _lines(preds)
    assert len({(s["id"], s["sample"]) for s in samples}) == len(samples) == 5 * 3
    new = _lines(out / "round-1" / "new.jsonl")
    assert len({r["id"] for r in new}) == len(new) and len(_lines(out / "rounds.jsonl")) == 1
