"""The on-disk request cache: hits, misses, keys, persistence, token accounting."""

from __future__ import annotations

import asyncio
import json

import pytest

from mathforge.llm import GenParams
from mathforge.llm.cache import CachedBackend, InvalidReply, RequestCache


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


@pytest.mark.parametrize("bad", [["part one", "part two"], 42, None])
def test_a_malformed_reply_is_not_cached_and_a_bad_entry_is_a_miss(scripted, tmp_path, bad):
    """#12.2: a proxy answering `content` as a list of parts (or a number) must not poison the cache."""
    poison = scripted(lambda p, i: bad)
    cb = CachedBackend(poison, tmp_path / "c.sqlite")
    with pytest.raises(InvalidReply):
        cb.generate(["q"], GenParams())
    with pytest.raises(InvalidReply):
        asyncio.run(cb.agenerate("q", GenParams()))
    assert len(cb.cache) == 0
    # an entry written by an older version (or damaged) reads as a miss and is asked for again
    key = cb._key("q", GenParams())
    with cb.cache._lock:
        cb.cache._db.execute("INSERT INTO replies VALUES (?, ?)", (key, json.dumps([{"text": bad}])))
        cb.cache._db.commit()
    good = scripted(lambda p, i: "fine")
    cb2 = CachedBackend(good, tmp_path / "c.sqlite")
    assert [c.text for c in cb2.generate(["q"], GenParams())[0]] == ["fine"] and good.requests == 1
    assert [
        c.text
        for c in CachedBackend(scripted(lambda p, i: "never"), tmp_path / "c.sqlite").generate(
            ["q"], GenParams()
        )[0]
    ] == ["fine"]
