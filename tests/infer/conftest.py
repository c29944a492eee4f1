"""A scripted backend (no model) and a shared sandbox for the loop's unit tests."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import pytest

from mathforge.llm import Backend, Completion, GenParams, cut_at_stop


@dataclass
class Problem:
    id: str
    question: str
    gold: str = ""
    meta: dict | None = None


class ScriptedBackend(Backend):
    """Answers with ``script[question][i]`` where i = the number of output blocks already in the prompt.

    A chunk is cut at the first requested stop string (as a server would); a chunk starting with
    ``LENGTH:`` is returned as a max_tokens cut; otherwise it ends as EOS.
    """

    def __init__(self, script: dict[str, list[str]], concurrent: bool = False, delay: dict | None = None):
        self.script = script
        self.concurrent = concurrent
        self.concurrency = 8
        self.delay = delay or {}
        self.calls: list[tuple[str, GenParams]] = []
        self.batches: list[int] = []

    def _one(self, prompt: str, params: GenParams) -> Completion:
        self.calls.append((prompt, params))
        question = re.search(r"Question: (.*?)\nAnswer:", prompt, re.S).group(1)
        i = len(re.findall(r"```output\n", prompt)) + prompt.count("Output: ")
        chunks = self.script[question]
        chunk = chunks[min(i, len(chunks) - 1)]
        if chunk.startswith("LENGTH:"):
            return Completion(chunk[len("LENGTH:") :], "length", 7)
        text, fired = cut_at_stop(chunk, params.stop)
        return Completion(text, "stop", max(1, len(text) // 4), stop=fired)

    def generate(self, prompts, params, on_finish=None):
        self.batches.append(len(prompts))
        return [[self._one(p, params) for _ in range(params.n)] for p in prompts]

    async def agenerate(self, prompt, params):
        question = re.search(r"Question: (.*?)\nAnswer:", prompt, re.S).group(1)
        await asyncio.sleep(self.delay.get(question, 0.0))
        return [self._one(prompt, params) for _ in range(params.n)]


@pytest.fixture(scope="session")
def sandbox():
    from mathforge.sandbox import Sandbox

    with Sandbox(workers=2, timeout=5.0) as sb:
        yield sb


@pytest.fixture
def scripted():
    return ScriptedBackend


@pytest.fixture
def problem():
    return Problem
