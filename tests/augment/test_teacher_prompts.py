"""Prompt files render; recorded teacher replies parse (or are rejected for the right reason)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mathforge.augment.teacher import METHODS, MUGGLEMATH, PROMPT_DIR, ReplyError, parse_reply
from mathforge.llm.prompts import load_prompt
from mathforge.synthesize.synth import PROMPT_DIR as SOLUTION_PROMPTS

REPLIES = Path(__file__).resolve().parents[1] / "fixtures" / "augment_teacher_replies.jsonl"


@pytest.mark.parametrize("method", sorted(METHODS) + ["cot_solution", "code_solution"])
def test_every_prompt_renders_with_no_placeholder_left(method):
    p = load_prompt(method, SOLUTION_PROMPTS if method.endswith("_solution") else PROMPT_DIR)
    assert p.version >= 1 and p.name == f"{method}.v{p.version}"
    text = p.render("Sam has 3 $2 coins {weird} and 10 marbles.", "16", "3 * 2 = <<3*2=6>>6\n#### 16")
    assert "Sam has 3 $2 coins {weird} and 10 marbles." in text
    assert "{{" not in text and not text.startswith("#")
    if METHODS.get(method) == "masked":
        assert "16" in text  # the known answer is shown to the teacher


def test_mugglemath_has_five_evolutions():
    assert len(MUGGLEMATH) == 5 and all(m in METHODS for m in MUGGLEMATH)


def test_unknown_version_is_an_error():
    with pytest.raises(ValueError):
        load_prompt("rephrase", PROMPT_DIR, version=99)


@pytest.mark.parametrize("case", [json.loads(x) for x in REPLIES.read_text().splitlines() if x.strip()])
def test_recorded_replies(case):
    if "expect_reject" in case:
        with pytest.raises(ReplyError) as err:
            parse_reply(case["method"], case["reply"], case["question"], case["gold"])
        assert str(err.value) == case["expect_reject"]
    else:
        got = parse_reply(case["method"], case["reply"], case["question"], case["gold"])
        for key, value in case["expect"].items():
            assert got[key] == value


def test_tiny_model_gibberish_is_rejected():
    for reply in ["", "   ", "0123 + - * / = ( )", "Question: 12", "Question: ok\nMasked value: 3"]:
        with pytest.raises(ReplyError):
            parse_reply("fobar", reply, "Sam has 3 coins and 10 marbles. How many?", "13")
