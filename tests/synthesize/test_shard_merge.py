"""synthesize --shard I/N + `mathforge merge` against a scripted teacher server on 127.0.0.1: the merged
solutions file is byte for byte the unsharded run's (greedy, deterministic replies)."""

from __future__ import annotations

import json
import re

from mathforge.merge import MergeConfig
from mathforge.merge.runner import run as merge
from mathforge.synthesize.config import SynthesizeConfig
from mathforge.synthesize.runner import run as synthesize


def _answer(body) -> str:
    prompt = body.get("prompt") or body["messages"][-1]["content"]
    a, b = map(int, re.findall(r"What is (\d+) \+ (\d+)\?", prompt)[-1])
    return f"We add {a} and {b}: {a} + {b} = {a + b}. The answer is \\boxed{{{a + b}}}."


def _run(url, questions, out, **kw):
    cfg = SynthesizeConfig(dataset=str(questions), base_url=url, model="teacher", k_cot=2, k_code=0,
                           temperature=0.0, decontaminate=False, cache=None, out=str(out), grade_workers=1,
                           **kw)  # fmt: skip
    return synthesize(cfg)


def test_shards_merged_are_byte_identical_to_the_unsharded_output(fault_server, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(
        json.dumps({"id": f"q{i}", "question": f"What is {i} + {2 * i}?", "gold": str(3 * i) if i % 3 else None,
                    "method": "original"}) + "\n" for i in range(10)
    ))  # fmt: skip
    with fault_server(text_for=_answer) as srv:
        whole = _run(srv.url, questions, tmp_path / "whole" / "s.jsonl")
        for i in range(4):
            _run(srv.url, questions, tmp_path / "parts" / "s.jsonl", shard=f"{i}/4")
    result = merge(MergeConfig(out=str(tmp_path / "parts" / "s.jsonl")))
    assert result["complete"], result
    merged = (tmp_path / "parts" / "s.jsonl").read_bytes()
    assert (
        merged == (tmp_path / "whole" / "s.jsonl").read_bytes() and merged.count(b"\n") == whole["kept"] > 0
    )
    samples = [json.loads(x) for x in (tmp_path / "parts" / "s.samples.jsonl").read_text().splitlines()]
    assert [s["qid"] for s in samples][::2] == [f"q{i}" for i in range(10)]  # the loaded order
    stats = json.loads((tmp_path / "parts" / "s.stats.json").read_text())
    assert stats["kept"] == whole["kept"] and stats["questions"] == 10 and stats["samples"] == 20
