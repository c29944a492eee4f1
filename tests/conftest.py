"""Shared fixtures. Package-specific fixtures live in tests/<package>/conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mathforge.llm import Backend, Completion

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MATHFORGE_NO_PROGRESS", "1")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real datasets (MATHFORGE_DATA_DIR); tests that need them skip, saying why, when it is unset."""
    value = os.environ.get("MATHFORGE_DATA_DIR")
    if not value:
        pytest.skip("MATHFORGE_DATA_DIR is not set: whole-dataset tests need the real data (.ci/run sets it)")
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"MATHFORGE_DATA_DIR={value} is not a directory")
    return path


@pytest.fixture(scope="session")
def tiny_tir_model() -> Path:
    """A tiny Llama overfit on 30 ToRA-format arithmetic solutions (mathforge.train.toy), prompt format "plain".

    Greedy decoding from each training prompt reproduces the code block and stops at "```output"; the
    examples (question, solution, answer, prompt, completion) are in ``<model>/toy_examples.jsonl``.
    Built once per configuration under .cache/test-models/<hash>/ (file-locked for pytest-xdist workers).
    """
    from mathforge.train.toy import cached_toy_tir_model

    return cached_toy_tir_model(REPO / ".cache" / "test-models")


class ScriptedBackend(Backend):
    """A Backend stand-in: ``reply(prompt, sample)`` gives each completion; counts the requests it served."""

    concurrent = True
    name = "scripted"

    def __init__(self, reply):
        self.reply = reply
        self.requests = 0

    def generate(self, prompts, params, on_finish=None):
        self.requests += len(prompts)
        return [[Completion(self.reply(p, i), "stop", 7) for i in range(params.n)] for p in prompts]

    async def agenerate(self, prompt, params):
        return self.generate([prompt], params)[0]


@pytest.fixture
def scripted():
    """The class: ``scripted(reply)`` makes a backend whose completions ``reply(prompt, sample)`` writes."""
    return ScriptedBackend
