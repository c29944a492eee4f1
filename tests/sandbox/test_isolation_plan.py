"""Graceful degradation: what the child plan does when the kernel refuses a layer (no sandbox started)."""

from __future__ import annotations

import os

import pytest

from mathforge.sandbox import isolation
from mathforge.sandbox.isolation import ChildPlan, default_read_paths, world_readable

CFG = {"memory": 1 << 30, "file_size": 1 << 20, "nofile": 64, "nproc": 32}


@pytest.fixture
def plan_factory():
    plans = []

    def make(**overrides):
        plan = ChildPlan(dict(CFG, **overrides), 0, default_read_paths())
        plans.append(plan)
        return plan

    yield make
    for plan in plans:
        plan.close()


def test_without_landlock_the_plan_says_so_and_keeps_going(plan_factory, monkeypatch):
    monkeypatch.setattr(isolation, "landlock_abi", lambda: 0)
    plan = plan_factory()
    active, detail = plan.unavailable["landlock"]
    assert not active and "not supported" in detail
    assert plan.landlock is None
    readable = all(world_readable(p) for p in default_read_paths())
    if os.geteuid() == 0 and not readable:
        # an unprivileged uid could not even import the standard library, and nothing would confine
        # a read capability: the plan keeps uid 0 but drops every capability instead
        assert not plan.drop_uid and not plan.read_cap
        assert "capability" in plan.unavailable["unprivileged_uid"][1]


def test_without_pyseccomp_the_plan_says_so(plan_factory, monkeypatch):
    def missing():
        raise ImportError("No module named 'pyseccomp'")

    monkeypatch.setattr(isolation, "SeccompPlan", missing)
    plan = plan_factory()
    active, detail = plan.unavailable["seccomp"]
    assert not active and "pyseccomp" in detail
    assert plan.seccomp is None


def test_layers_can_be_switched_off(plan_factory):
    plan = plan_factory(landlock=False, seccomp=False, drop_uid=False)
    assert plan.unavailable["landlock"] == (False, "disabled by configuration")
    assert plan.unavailable["seccomp"] == (False, "disabled by configuration")
    assert not plan.drop_uid


def test_read_allowlist_never_contains_the_root():
    paths = default_read_paths()
    assert "/" not in paths
    assert any(p.endswith("site-packages") for p in paths)
