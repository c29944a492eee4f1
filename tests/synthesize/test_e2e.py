"""End to end against one `transformers serve` of the tiny TIR model on 127.0.0.1 (shared by the tests).

* `mathforge augment teacher`: the tiny model writes arithmetic, not questions, so almost every reply is
  rejected -- which is the point: the plumbing (HTTP, cache, rejects with reasons, resume after SIGKILL)
  is what is tested.
* `mathforge synthesize`: generation through the tool-integrated loop, execution in the sandbox, gold
  filter, dedup, stats, cache on re-run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

MINI_GSM8K = Path(__file__).resolve().parents[1] / "fixtures" / "augment_gsm8k_mini.jsonl"


# short prompts: the tiny model has 256 positions
PROMPTS = {
    "rephrase": "# method: rephrase\nRewrite: {{question}}\nQuestion:",
    "fobar": "# method: fobar\n{{question}} Answer {{answer}}. Mask a number with X.\nQuestion:",
}


@pytest.fixture(scope="module")
def server(tiny_tir_model):
    from mathforge.llm.server import transformers_server

    with transformers_server(tiny_tir_model) as url:
        yield url, str(tiny_tir_model)


@pytest.fixture
def prompt_dir(tmp_path):
    d = tmp_path / "prompts"
    d.mkdir()
    for m, text in PROMPTS.items():
        (d / f"{m}.v1.txt").write_text(text)
    return d


def _cmd(server, data, out, cache, prompt_dir, methods="rephrase,fobar", n=2, extra=()):
    url, model = server
    return [sys.executable, "-m", "mathforge.cli", "augment", "teacher", "--dataset", str(data), "--methods", methods,
            "--n", str(n), "--base-url", url, "--model", model, "--api", "completions", "--max-tokens", "16", "--limit", "4",
            "--temperature", "0.8", "--seed", "5", "--out", str(out), "--cache", str(cache),
            "--prompt-dir", str(prompt_dir), *extra]  # fmt: skip


def _env():
    return {**os.environ, "MATHFORGE_NO_PROGRESS": "1", "HF_HUB_OFFLINE": "1"}


def _lines(path):
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


def test_teacher_plumbing_rejects_and_cache(server, prompt_dir, tmp_path):
    out, cache = tmp_path / "t.jsonl", tmp_path / "cache.sqlite"
    cmd = _cmd(server, MINI_GSM8K, out, cache, prompt_dir)
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows, rejects = _lines(out), _lines(tmp_path / "t.rejects.jsonl")
    assert len(rows) + len(rejects) == 4 * 2 * 2
    assert rejects and all(r["reason"] and "reply" in r for r in rejects)
    stats = json.loads((tmp_path / "t.stats.json").read_text())
    assert stats["requests_sent"] == 4 * 2 and stats["requests_cached"] == 0 and stats["tokens_generated"] > 0
    # the same run again from scratch (outputs deleted, cache kept): nothing is sent to the server
    out.unlink()
    (tmp_path / "t.rejects.jsonl").unlink()
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stats = json.loads((tmp_path / "t.stats.json").read_text())
    assert stats["requests_sent"] == 0 and stats["requests_cached"] == 4 * 2
    by_id = lambda rs: sorted(rs, key=lambda r: r["id"])  # noqa: E731 - replies arrive in any order
    assert by_id(_lines(out)) == by_id(rows) and by_id(_lines(tmp_path / "t.rejects.jsonl")) == by_id(rejects)


def test_teacher_sigkill_midway_then_resume(server, prompt_dir, tmp_path):
    out, cache = tmp_path / "k.jsonl", tmp_path / "cache.sqlite"
    cmd = _cmd(server, MINI_GSM8K, out, cache, prompt_dir, n=2, extra=["--concurrency", "1"])
    rej = tmp_path / "k.rejects.jsonl"
    proc = subprocess.Popen(
        cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if len(_lines(out)) + len(_lines(rej)) >= 6:
                break
            time.sleep(0.05)
        assert proc.poll() is None, (
            "the run ended before it could be killed: " + proc.stderr.read().decode()[-2000:]
        )
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    before = _lines(out) + _lines(rej)
    assert 6 <= len(before) < 4 * 2 * 2
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    after_rows, after_rej = _lines(out), _lines(rej)
    keys = [(r["source_id"], r["method"], r["sample"]) for r in after_rows + after_rej]
    assert len(keys) == len(set(keys)) == 4 * 2 * 2  # nothing lost, nothing twice
    assert all(r in after_rows + after_rej for r in before)  # finished rows kept as they were


def test_synthesize_end_to_end_with_cache(server, tiny_tir_model, tmp_path):
    toy = [json.loads(x) for x in (tiny_tir_model / "toy_examples.jsonl").read_text().splitlines() if x][:4]
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(
        json.dumps({"id": f"toy/{i}", "question": r["question"], "gold": r["answer"], "method": "original"}) + "\n"
        for i, r in enumerate(toy)
    ))  # fmt: skip
    out = tmp_path / "s.jsonl"
    env = {**os.environ, "MATHFORGE_NO_PROGRESS": "1", "HF_HUB_OFFLINE": "1"}
    url = server[0]
    cmd = [sys.executable, "-m", "mathforge.cli", "synthesize", "--dataset", str(questions),
           "--prompt-style", "plain", "--k-cot", "1", "--k-code", "2", "--temperature", "0",
           "--max-tokens", "64", "--max-rounds", "2", "--base-url", url, "--model", str(tiny_tir_model),
           "--api", "completions", "--no-decontaminate", "--sandbox-workers", "1", "--out", str(out),
           "--cache", str(tmp_path / "c.sqlite")]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stats = json.loads((tmp_path / "s.stats.json").read_text())
    samples = _lines(tmp_path / "s.samples.jsonl")
    assert len(samples) == 4 * 3 and stats["samples"] == 12
    kept = _lines(out)
    # the toy model solves its own training questions with code: those paths pass the gold filter,
    # and the two greedy code samples are identical, so dedup removes one of each pair
    code = [r for r in kept if r["mode"] == "code"]
    assert len(code) >= 3 and all(r["answer"] == r["gold"] for r in kept)
    assert stats["removed"].get("duplicate", 0) >= len(code)
    assert all("```output" in r["solution"] for r in code)
    sent = stats["requests_sent"]
    assert sent > 0
    # re-run from scratch with the cache: same result, nothing sent
    out.unlink()
    (tmp_path / "s.samples.jsonl").unlink()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stats2 = json.loads((tmp_path / "s.stats.json").read_text())
    assert stats2["requests_sent"] == 0 and stats2["requests_cached"] == sent
    assert _lines(out) == kept
