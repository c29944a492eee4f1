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
