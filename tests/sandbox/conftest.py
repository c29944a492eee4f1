"""One warm sandbox per test module: starting zygotes (sympy import) takes seconds."""

from __future__ import annotations

import pytest

from mathforge.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(workers=2, timeout=3.0) as sb:
        yield sb
