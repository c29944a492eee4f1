"""The loop through a real model: the tiny Llama overfit on ToRA-format arithmetic (``tiny_tir_model``).

The HTTP backend against a ``transformers serve`` subprocess is tested in tests/evaluate/test_real_model.py
(one server start for both)."""

from __future__ import annotations

import json
import re

import pytest

from mathforge.answer import is_equiv
from mathforge.infer import run_tir
from mathforge.llm import GenParams, HFBackend
from mathforge.solution import Code, Output, parse

pytestmark = pytest.mark.slow


class P:
    def __init__(self, row):
        self.id, self.question, self.gold = row["id"], row["question"], row["answer"]


@pytest.fixture(scope="module")
def toy_problems(tiny_tir_model):
    rows = [
        json.loads(line) for line in (tiny_tir_model / "toy_examples.jsonl").read_text().splitlines() if line
    ]
    return [P(r) for r in rows]


def check_tool_use(trajs, problems):
    """Each trajectory ran the model's own program in the sandbox, read the true result back, and answered.

    What the loop does is asserted exactly: every program the model wrote was run, and the output block
    holds what the sandbox printed for it, never model text. What the model does is asserted with a
    margin: the fixture is trained until it solves every example in one greedy batch on the machine that
    built it, but these runs batch differently, and a near-tie can flip in the last float bits on another
    CPU; so one miss in ten (a wrong program, or a right program whose number it boxes wrongly) is allowed.
    """
    correct = right_programs = 0
    for t, p in zip(trajs, problems, strict=True):
        segs = parse(t.text)
        codes = [s.code for s in segs if isinstance(s, Code)]
        outputs = [s.output for s in segs if isinstance(s, Output)]
        assert t.executions, t.text
        assert codes == [e.code for e in t.executions]
        # the output blocks hold what the sandbox printed for that code, not model text
        assert outputs == [e.output for e in t.executions]
        expr = re.search(r"What is (.*)\?", p.question).group(1)
        right_programs += t.executions[0].status == "ok" and outputs[0] == str(eval(expr))  # noqa: S307
        correct += t.finish == "answer" and is_equiv(t.answer, p.gold)
    margin = max(1, len(problems) // 10)
    assert right_programs >= len(problems) - margin, (right_programs, len(problems))
    assert correct >= len(problems) - margin, (correct, len(problems))
    return correct


def test_in_process_backend(tiny_tir_model, toy_problems, sandbox):
    backend = HFBackend(tiny_tir_model, device="cpu", batch_size=8)
    problems = toy_problems[:10]
    trajs = run_tir(backend, problems, params=GenParams(max_tokens=96), sandbox=sandbox)
    check_tool_use(trajs, problems)
    assert sum(t.rounds == 2 for t in trajs) >= len(trajs) - 1  # code, then the answer (same margin as above)


def test_prefix_cache_and_early_execution_change_nothing_but_the_work_done(
    tiny_tir_model, toy_problems, sandbox
):
    """Continuing round 2 from round 1's KV cache (and starting programs while the batch decodes) gives the
    very trajectories a fresh re-encoding of every round gives, on the real model."""
    problems = toy_problems[:12]
    params = GenParams(max_tokens=96)
    cached = HFBackend(tiny_tir_model, device="cpu", batch_size=12)
    fresh = HFBackend(tiny_tir_model, device="cpu", batch_size=12, prefix_cache=False)
    fresh.early_finish = False  # the plain batch-then-execute schedule
    a = run_tir(cached, problems, params=params, sandbox=sandbox)
    b = run_tir(fresh, problems, params=params, sandbox=sandbox)
    assert [t.text for t in a] == [t.text for t in b]
    assert [t.tokens for t in a] == [t.tokens for t in b]
    check_tool_use(a, problems)
    # round 2 of every sample took its transcript from the cache: only the output block was encoded
    prompt_tokens = sum(len(cached.tokenizer(t.prompt)["input_ids"]) for t in a)
    assert cached.reused_tokens > prompt_tokens
    assert fresh.reused_tokens == 0
