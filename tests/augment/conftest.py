"""Fixtures of the augment tests: a hand-written mini GSM8K file and a shared sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="session")
def mini_gsm8k_path() -> Path:
    return FIXTURES / "augment_gsm8k_mini.jsonl"


@pytest.fixture(scope="session")
def mini_gsm8k(mini_gsm8k_path):
    from mathforge.augment.pipeline import load_gsm8k

    return load_gsm8k(mini_gsm8k_path)


@pytest.fixture(scope="session")
def sandbox():
    from mathforge.sandbox import Sandbox

    with Sandbox(workers=2, timeout=10) as sb:
        yield sb


class ScriptedBackend:
    """A Backend stand-in: ``reply(prompt, sample)`` gives each completion; counts the requests it served."""

    api = "completions"
    concurrent = True
    model = "scripted"

    def __init__(self, reply):
        self.reply = reply
        self.requests = 0

    def generate(self, prompts, params):
        from mathforge.llm import Completion

        self.requests += len(prompts)
        return [[Completion(self.reply(p, i), "stop", 7) for i in range(params.n)] for p in prompts]

    async def agenerate(self, prompt, params):
        return self.generate([prompt], params)[0]

    def close(self):
        pass


@pytest.fixture
def scripted():
    return ScriptedBackend
