"""The on-disk request cache: hits, misses, keys, persistence, token accounting."""

from __future__ import annotations

import asyncio

from mathforge.augment.cache import CachedBackend, RequestCache
from mathforge.llm import GenParams


def test_second_identical_request_is_served_from_disk(scripted, tmp_path):
    inner = scripted(lambda p, i: f"reply to {p} #{i}")
    cb = CachedBackend(inner, tmp_path / "c.sqlite")
    params = GenParams(max_tokens=8, temperature=0.7, n=2, seed=1)
    first = cb.generate(["a", "b"], params)
    again = cb.generate(["a", "b"], params)
    assert [[c.text for c in cs] for cs in first] == [[c.text for c in cs] for cs in again]
    assert inner.requests == 2 and cb.hits == 2 and cb.misses == 2
    assert cb.tokens_generated == 2 * 2 * 7
    assert cb.stats()["tokens_from_cache"] == 2 * 2 * 7
    # any parameter that changes the reply changes the key
    cb.generate(["a"], params.with_(seed=2))
    cb.generate(["a"], params.with_(max_tokens=9))
    assert inner.requests == 4
    cb.close()
    # a new process (new objects, same file) still hits
    inner2 = scripted(lambda p, i: "never used")
    cb2 = CachedBackend(inner2, tmp_path / "c.sqlite", model="scripted")
    got = asyncio.run(cb2.agenerate("a", params))
    assert [c.text for c in got] == ["reply to a #0", "reply to a #1"] and inner2.requests == 0
    assert len(RequestCache(tmp_path / "c.sqlite")) == 4


def test_model_name_is_part_of_the_key(scripted, tmp_path):
    inner = scripted(lambda p, i: "x")
    CachedBackend(inner, tmp_path / "c.sqlite", model="m1").generate(["q"], GenParams())
    CachedBackend(inner, tmp_path / "c.sqlite", model="m2").generate(["q"], GenParams())
    assert inner.requests == 2
