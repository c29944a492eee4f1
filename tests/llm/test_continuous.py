"""Continuous batching in-process (dense slots on a CPU; transformers' manager) against static batching, on
the tests' toy model."""

from __future__ import annotations

import json

import pytest

from mathforge.infer import run_tir
from mathforge.llm import BackendConfig, GenParams, HFBackend, load_backend
from mathforge.llm.continuous import ContinuousHFBackend
from mathforge.llm.slots import SlotBackend

pytestmark = pytest.mark.slow


class P:
    def __init__(self, row):
        self.id, self.question = row["id"], row["question"]


@pytest.fixture(scope="module")
def problems(tiny_tir_model):
    rows = [json.loads(x) for x in (tiny_tir_model / "toy_examples.jsonl").read_text().splitlines() if x]
    return [P(r) for r in rows[:8]]


def test_greedy_tool_integrated_runs_equal_static_batching(tiny_tir_model, problems, sandbox):
    """The same transcripts, round by round: the manager's paged attention decodes what the static batch
    decodes, and stop strings end a request exactly where HFBackend ends a row."""
    params = GenParams(max_tokens=96)
    static = run_tir(HFBackend(tiny_tir_model, batch_size=8), problems, params=params, sandbox=sandbox)
    backend = ContinuousHFBackend(HFBackend(tiny_tir_model), slots=4)
    try:
        assert backend.concurrent
        streamed = run_tir(backend, problems, params=params, sandbox=sandbox)
        assert (
            backend.stats()["cancelled_at_stop_string"] >= len(problems) - 1
        )  # each first round stopped at ```output
    finally:
        backend.close()
    assert [t.text for t in streamed] == [t.text for t in static]
    assert [t.executions[0].output for t in streamed] == [t.executions[0].output for t in static]


def test_samples_and_the_default_for_a_tiny_model(tiny_tir_model, problems):
    assert isinstance(load_backend(BackendConfig(model=str(tiny_tir_model))), HFBackend)  # too small to pay
    backend = ContinuousHFBackend(HFBackend(tiny_tir_model), slots=4)
    try:
        prompt = f"Question: {problems[0].question}\nAnswer:\n"
        (outs,) = backend.generate([prompt], GenParams(max_tokens=20, temperature=1.0, n=3, seed=0))
        assert len(outs) == 3 and all(o.tokens > 0 for o in outs)
    finally:
        backend.close()


def test_slots_refill_and_equal_static_batching(tiny_tir_model, problems, sandbox):
    """Four slots for eight samples: rows end at different times and the next request takes the slot; the
    transcripts are those of a static batch, round by round."""
    params = GenParams(max_tokens=96)
    static = run_tir(HFBackend(tiny_tir_model, batch_size=8), problems, params=params, sandbox=sandbox)
    backend = load_backend(BackendConfig(model=str(tiny_tir_model), continuous_batching=True, batch_size=4))
    try:
        assert isinstance(backend, SlotBackend)  # on a CPU
        slotted = run_tir(backend, problems, params=params, sandbox=sandbox)
        assert backend.stats()["slot_refills"] > 0  # slots were refilled while others decoded
    finally:
        backend.close()
    assert [t.text for t in slotted] == [t.text for t in static]


def test_slot_sampling_does_not_depend_on_which_rows_share_a_step(tiny_tir_model, problems):
    """Each request draws from its own generator (the run's seed, its prompt, its index): the same samples
    whether the prompt runs alone or beside others."""
    params = GenParams(max_tokens=24, temperature=3.0, n=2, seed=3)  # hot: the overfit toy model varies too
    prompt = "Question: How many legs do 7 spiders have?\nAnswer:\n"
    others = [f"Question: {p.question}\nAnswer:\n" for p in problems[1:5]]
    backend = SlotBackend(HFBackend(tiny_tir_model), slots=3)
    try:
        (alone,) = backend.generate([prompt], params)
        crowded = backend.generate([*others, prompt], params)[-1]
    finally:
        backend.close()
    assert [c.text for c in alone] == [c.text for c in crowded] and alone[0].text != alone[1].text
