"""Continuing prompts from the previous call's KV cache gives exactly what a fresh encoding gives."""

from __future__ import annotations

import pytest

from mathforge.llm import GenParams, HFBackend
from mathforge.llm.prefix_cache import KeptRow, common_prefix, match

PROMPTS = ["Question: What is 1 + 2?\nAnswer:\n", "The quick", "0123 + 45 = ( [ {", "Question: 7 * 8"]
OUTPUTS = ["\n```output\n3\n```\n", " 42\n", "```output\nNameError\n```\n", "\n```output\n56\n```\n"]


@pytest.fixture(scope="module")
def pair(random_llama):
    """The same model with and without the prefix cache."""
    return (
        HFBackend(random_llama, device="cpu", batch_size=8, prefix_cache=True),
        HFBackend(random_llama, device="cpu", batch_size=8, prefix_cache=False),
    )


def _round(backend, prompts, params):
    return [outs[0] for outs in backend.generate(prompts, params)]


def test_three_rounds_match_fresh_encoding_and_reuse_the_cache(pair):
    cached, fresh = pair
    params = GenParams(max_tokens=12)
    prompts = list(PROMPTS)
    before = cached.reused_tokens
    for rnd in range(3):
        a, b = _round(cached, prompts, params), _round(fresh, prompts, params)
        assert [c.text for c in a] == [c.text for c in b], f"round {rnd}"
        assert [c.tokens for c in a] == [c.tokens for c in b]
        # the next round: transcript + completion + an interpreter reply, as the tir loop builds it
        prompts = [p + c.text + OUTPUTS[i] for i, (p, c) in enumerate(zip(prompts, a, strict=True))]
    assert cached.reused_tokens > before
    assert fresh.reused_tokens == 0


def test_rows_that_stopped_early_and_a_subset_in_another_order(pair):
    cached, fresh = pair
    free = _round(fresh, PROMPTS, GenParams(max_tokens=20))
    stop = free[0].text[2:4]  # fires early in row 0 only, so other rows run on past it
    params = GenParams(max_tokens=20, stop=(stop,))
    a, b = _round(cached, PROMPTS, params), _round(fresh, PROMPTS, params)
    assert [c.text for c in a] == [c.text for c in b]
    nxt = [PROMPTS[i] + a[i].text + OUTPUTS[i] for i in (3, 0, 2)] + ["an unrelated new prompt"]
    before = cached.reused_tokens
    params2 = GenParams(max_tokens=10)
    assert [c.text for c in _round(cached, nxt, params2)] == [c.text for c in _round(fresh, nxt, params2)]
    assert cached.reused_tokens > before


def test_sampling_with_a_seed_is_unchanged_by_the_cache(pair):
    cached, fresh = pair
    params = GenParams(max_tokens=8, temperature=1.0, seed=3)
    first = _round(cached, PROMPTS[:2], params)
    assert [c.text for c in first] == [c.text for c in _round(fresh, PROMPTS[:2], params)]
    nxt = [p + c.text + OUTPUTS[i] for i, (p, c) in enumerate(zip(PROMPTS[:2], first, strict=True))]
    assert [c.text for c in _round(cached, nxt, params)] == [c.text for c in _round(fresh, nxt, params)]


def test_only_the_last_call_is_kept(pair):
    cached, _ = pair
    params = GenParams(max_tokens=6)
    (c1,) = _round(cached, [PROMPTS[1]], params)
    _round(cached, [PROMPTS[2]], params)  # a different call in between drops the first one's rows
    before = cached.reused_tokens
    _round(cached, [PROMPTS[1] + c1.text + " more"], params)
    assert cached.reused_tokens == before


def test_common_prefix_and_match_grouping():
    assert common_prefix([1, 2, 3], [1, 2, 4, 5]) == 2
    assert common_prefix([], [1]) == 0
    batch_a, batch_b = object(), object()
    kept = [
        KeptRow("ab", [1, 2], [0, 1], batch_a, 0),
        KeptRow("xy", [7, 8], [0, 1], batch_b, 0),
        KeptRow("cd", [3, 4], [0, 1], batch_a, 1),
    ]
    table = {"abZ": [1, 2, 9], "cdW": [3, 4, 9], "xy": [7, 8], "new": [5]}
    encode = lambda texts: [table[t] for t in texts]  # noqa: E731
    groups, fresh = match(["abZ", "new", "cdW", "xy"], kept, encode)
    assert fresh == [1]
    by_batch = {id(g.batch): g for g in groups}
    assert by_batch[id(batch_a)].positions == [0, 2]
    assert by_batch[id(batch_a)].reuse == [2, 2]
    # a prompt equal to the kept text still feeds its last id again: the model needs one input
    assert by_batch[id(batch_b)].reuse == [1]


def test_a_call_larger_than_one_batch_keeps_nothing(random_llama):
    small = HFBackend(random_llama, device="cpu", batch_size=2)
    params = GenParams(max_tokens=6)
    first = _round(small, PROMPTS, params)  # 4 prompts, batches of 2: nothing is kept
    assert small._kept == []
    _round(small, [PROMPTS[0] + first[0].text + " more"], params)
    assert small.reused_tokens == 0
    one = _round(small, PROMPTS[:2], params)  # fits one batch: kept
    _round(small, [PROMPTS[1] + one[1].text + " more"], params)
    assert small.reused_tokens > 0
