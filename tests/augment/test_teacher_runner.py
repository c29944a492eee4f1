"""The teacher runner with a scripted teacher: accepted rows, rejects with reasons, provenance, resume."""

from __future__ import annotations

import pytest

from mathforge.augment.teacher import augment_questions, row_key
from mathforge.llm import GenParams
from mathforge.stage_output import StageOutput


def _reply(prompt: str, sample: int) -> str:
    if "unknown variable X" in prompt:  # fobar
        return ("Question: Tom picked X apples on Monday and half as many on Tuesday. How many apples did Tom "
                "pick in total? If we know the answer to the above question is 54, what is the value of unknown "
                "variable X?\nMasked value: 36")  # fmt: skip
    if "Rewrite the following" in prompt and "Tom" in prompt:
        return "Question: On Monday Tom collected 36 apples and on Tuesday half that many. How many in all?"
    return "I cannot help with that."


def _run(problems, backend, tmp_path, methods, n=2):
    with StageOutput(tmp_path / "t.jsonl", row_key, title="teacher") as output:
        counts = augment_questions(
            problems, methods, backend, GenParams(n=n, temperature=0.7, seed=3), output
        )
    return output.kept.rows, output.rejected.rows, counts


def test_rows_rejects_and_provenance(mini_gsm8k, scripted, tmp_path):
    backend = scripted(_reply)
    rows, rejects, counts = _run(mini_gsm8k[:2], backend, tmp_path, ["rephrase", "fobar", "mm_complex"])
    assert backend.requests == 2 * 3
    assert len(rows) + len(rejects) == 2 * 3 * 2
    by = {(r["source_id"], r["method"]) for r in rows}
    assert by == {("gsm8k/train/0", "rephrase"), ("gsm8k/train/0", "fobar")}
    fobar = next(r for r in rows if r["method"] == "fobar")
    assert fobar["gold"] == "36" and fobar["masked_value"] == "36" and fobar["known_answer"] == "54"
    reph = next(r for r in rows if r["method"] == "rephrase")
    assert reph["gold"] == "54" and reph["prompt"] == "rephrase.v1" and reph["seed"] == 3
    assert all(r["reason"] for r in rejects) and {"no_question_field"} <= {r["reason"] for r in rejects}
    assert counts["accepted"] == len(rows)


def test_resume_sends_nothing_twice(mini_gsm8k, scripted, tmp_path):
    b1 = scripted(_reply)
    rows1, rej1, _ = _run(mini_gsm8k[:3], b1, tmp_path, ["rephrase", "mm_numbers"])
    b2 = scripted(_reply)
    rows2, rej2, counts = _run(mini_gsm8k[:3], b2, tmp_path, ["rephrase", "mm_numbers"])
    assert b2.requests == 0 and rows2 == rows1 and rej2 == rej1 and counts["resumed"] == 3 * 2 * 2


def test_unknown_method_is_refused(mini_gsm8k, scripted, tmp_path):
    with pytest.raises(ValueError, match="unknown augmentation method"):
        _run(mini_gsm8k[:1], scripted(_reply), tmp_path, ["nonsense"])


def test_failed_requests_are_not_recorded_so_a_rerun_retries_them(mini_gsm8k, scripted, tmp_path):
    def flaky(prompt, sample):
        if "Tom" in prompt:
            raise ConnectionError("server went away")
        return _reply(prompt, sample)

    rows, rejects, counts = _run(mini_gsm8k[:2], scripted(flaky), tmp_path, ["rephrase"])
    assert counts["request_failed"] == 1 and not any(
        r["source_id"] == "gsm8k/train/0" for r in rows + rejects
    )
    backend = scripted(_reply)
    rows, rejects, counts = _run(mini_gsm8k[:2], backend, tmp_path, ["rephrase"])
    assert backend.requests == 1 and {r["source_id"] for r in rows} == {"gsm8k/train/0"}
