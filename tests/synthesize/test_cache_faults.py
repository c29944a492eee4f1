"""#12.2 through a stage: a server answering ``content`` as a list of parts or as a number, ``synthesize
--cache``, then re-runs. The bad reply is not cached, a re-run does not crash and asks again, and an entry
an older version cached badly is a miss (asked again and replaced), never a crash on every re-run."""

from __future__ import annotations

import json
import re
import sqlite3

from mathforge.cli import main

PROBLEMS = [{"id": f"p{i}", "question": f"What is {i} + {i}?", "gold": str(2 * i)} for i in range(6)]


def _answer(body) -> str:
    a, b = re.search(r"What is (\d+) \+ (\d+)\?", json.dumps(body)).groups()
    return f"So the answer is \\boxed{{{int(a) + int(b)}}}."


def _stats(out):
    return json.loads(out.with_suffix(".stats.json").read_text())


def _cached_texts(cache) -> list:
    with sqlite3.connect(cache) as db:
        return [c["text"] for (value,) in db.execute("SELECT value FROM replies") for c in json.loads(value)]


def test_synthesize_with_the_cache_survives_replies_whose_content_is_not_a_string(fault_server, tmp_path):
    data = tmp_path / "q.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in PROBLEMS))
    cache = tmp_path / "c.sqlite"
    broken = {"on": True}

    def fault_for(body):
        if not broken["on"]:
            return None
        sent = json.dumps(body)
        return (
            "content_number"
            if "What is 2 + 2" in sent
            else "content_list"
            if "What is 4 + 4" in sent
            else None
        )

    def argv(out):
        return ["synthesize", "--dataset", str(data), "--k-cot", "2", "--k-code", "0", "--no-decontaminate",
                "--api", "chat", "--max-retries", "0", "--out", str(out), "--cache", str(cache),
                "--grade-workers", "1", "--model", "m"]  # fmt: skip

    out = tmp_path / "s.jsonl"
    with fault_server(fault_for, _answer) as srv:
        # 1. a number for p2: that request fails (not cached); a list of parts for p4: joined, cached as text
        assert main([*argv(out), "--base-url", srv.url]) == 1
        assert _stats(out)["requests_failed"] == 1 and _stats(out)["questions_with_a_solution"] == 5
        texts = _cached_texts(cache)
        assert len(texts) == 5 * 2 and all(isinstance(t, str) for t in texts)  # 5 requests of 2 samples
        assert "So the answer is \\boxed{8}." in texts  # p4's two parts, joined

        # 2. the same command, the server recovered: no crash, only p2 is asked again
        broken["on"] = False
        sent = len(srv.requests)
        assert main([*argv(out), "--base-url", srv.url]) == 0
        assert _stats(out)["requests_sent"] == 1 and _stats(out)["questions_with_a_solution"] == 6
        assert len(srv.requests) == sent + 2  # chat: one HTTP request a sample

        # 3. a cache an older version wrote (content cached as a list of parts, or a number): every entry
        # is a miss, asked again and replaced; the run does not crash without sending a request
        with sqlite3.connect(cache) as db:
            for i, (key, value) in enumerate(db.execute("SELECT key, value FROM replies").fetchall()):
                bad = [
                    {**c, "text": [{"type": "text", "text": c["text"]}] if i % 2 else 42}
                    for c in json.loads(value)
                ]
                db.execute("UPDATE replies SET value = ? WHERE key = ?", (json.dumps(bad), key))
        sent = len(srv.requests)
        fresh = tmp_path / "again" / "s.jsonl"  # a new output: every question goes through the cache
        assert main([*argv(fresh), "--base-url", srv.url]) == 0
        assert _stats(fresh)["requests_sent"] == 6 and _stats(fresh)["requests_cached"] == 0
        assert len(srv.requests) == sent + 12
        assert _stats(fresh)["questions_with_a_solution"] == 6
        assert all(isinstance(t, str) for t in _cached_texts(cache))

        # 4. the replaced entries are good: a third output is served from the cache alone
        sent = len(srv.requests)
        third = tmp_path / "third" / "s.jsonl"
        assert main([*argv(third), "--base-url", srv.url]) == 0
        assert len(srv.requests) == sent and _stats(third)["requests_cached"] == 6
        assert _stats(third)["requests_sent"] == 0
    assert third.read_text() == fresh.read_text()
