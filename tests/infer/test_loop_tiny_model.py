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

    The answers must grade correct; the tiny model copies the printed number into \\boxed{} almost always
    but not always (toy-1: it prints 7984 and boxes 7958), so one miss in ten is tolerated, never a miss
    of the loop itself: the output block always holds the true value.
    """
    correct = 0
    for t, p in zip(trajs, problems, strict=True):
        segs = parse(t.text)
        codes = [s.code for s in segs if isinstance(s, Code)]
        outputs = [s.output for s in segs if isinstance(s, Output)]
        assert t.executions, t.text
        assert codes == [e.code for e in t.executions]
        # the output blocks hold what the sandbox printed for that code, not model text
        assert outputs == [e.output for e in t.executions]
        assert all(e.status == "ok" for e in t.executions)
        expr = re.search(r"What is (.*)\?", p.question).group(1)
        assert outputs[0] == str(eval(expr))  # noqa: S307 - our own arithmetic strings
        assert t.finish == "answer"
        correct += is_equiv(t.answer, p.gold)
    assert correct >= len(problems) - max(1, len(problems) // 10), (correct, len(problems))
    return correct


def test_in_process_backend(tiny_tir_model, toy_problems, sandbox):
    backend = HFBackend(tiny_tir_model, device="cpu", batch_size=8)
    problems = toy_problems[:10]
    trajs = run_tir(backend, problems, params=GenParams(max_tokens=96), sandbox=sandbox)
    check_tool_use(trajs, problems)
    assert all(t.rounds == 2 for t in trajs)
