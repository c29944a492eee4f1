"""`mathforge synthesize` against `transformers serve` of the tiny TIR model: generation through the
tool-integrated loop, execution in the sandbox, gold filter, dedup, stats, cache on re-run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def _lines(path):
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_synthesize_end_to_end_with_cache(tiny_tir_model, tmp_path):
    from mathforge.llm.server import transformers_server

    toy = [json.loads(x) for x in (tiny_tir_model / "toy_examples.jsonl").read_text().splitlines() if x][:4]
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(
        json.dumps({"id": f"toy/{i}", "question": r["question"], "gold": r["answer"], "method": "original"}) + "\n"
        for i, r in enumerate(toy)
    ))  # fmt: skip
    out = tmp_path / "s.jsonl"
    env = {**os.environ, "MATHFORGE_NO_PROGRESS": "1", "HF_HUB_OFFLINE": "1"}
    with transformers_server(tiny_tir_model) as url:
        cmd = [sys.executable, "-m", "mathforge.cli", "synthesize", "--questions", str(questions),
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
