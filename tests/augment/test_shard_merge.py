"""augment code --shard I/N + `mathforge merge`: the merged rows and rejects are the unsharded run's bytes."""

from __future__ import annotations

import json
from pathlib import Path

from mathforge.augment.config import AugmentCodeConfig
from mathforge.augment.stages import run_code
from mathforge.merge import MergeConfig
from mathforge.merge.runner import run as merge

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "augment_gsm8k_mini.jsonl"


def test_shards_merged_are_byte_identical_to_the_unsharded_output(tmp_path):
    whole = tmp_path / "whole" / "code.jsonl"
    run_code(AugmentCodeConfig(dataset=str(MINI), out=str(whole), sandbox_workers=1))
    parts = tmp_path / "parts" / "code.jsonl"
    for i in range(3):
        stats = run_code(
            AugmentCodeConfig(dataset=str(MINI), out=str(parts), sandbox_workers=1, shard=f"{i}/3")
        )
        assert stats["total"] == len(range(i, 8, 3))
    assert (parts.parent / "code.shard-2-of-3.jsonl").exists() and not parts.exists()
    result = merge(MergeConfig(out=str(parts)))
    assert result["complete"] and result["written"]
    assert parts.read_bytes() == whole.read_bytes()
    rejects = whole.with_suffix(".rejects.jsonl")
    if rejects.exists():  # the mini set has problems whose chain does not reach the gold
        assert parts.with_suffix(".rejects.jsonl").read_bytes() == rejects.read_bytes()
    summed = json.loads(parts.with_suffix(".stats.json").read_text())
    unsharded = json.loads(whole.with_suffix(".stats.json").read_text())
    assert summed["total"] == unsharded["total"] == 8 and summed["converted"] == unsharded["converted"]
    assert summed["shards"] == 3 and "rate" not in summed  # a rate does not add up across shards
