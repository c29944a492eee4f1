"""One warm sandbox shared by the test modules: starting zygotes (sympy import) takes seconds."""

from __future__ import annotations

import pytest

from mathforge.sandbox import Sandbox


@pytest.fixture(scope="session")
def sandbox():
    # 1 GiB address space: memory bombs fail sooner and touch less of the shared machine's RAM
    with Sandbox(workers=2, timeout=3.0, memory=1 << 30) as sb:
        yield sb
