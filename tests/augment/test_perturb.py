"""Numeric perturbation: mapping, seeded draws, validity, re-rendering, provenance."""

from __future__ import annotations

import random

import pytest

from mathforge.augment.chain import evaluate, parse_chain
from mathforge.augment.convert import prepare
from mathforge.augment.perturb import analyse, draw, make_variant, perturb_many, question_numbers
from mathforge.solution import Code, Output, parse


def _variants(mini_gsm8k, n=3, seed=0):
    return {sid: vs for sid, vs, _ in perturb_many(mini_gsm8k, n=n, seed=seed)}


def test_question_numbers_keep_their_shape():
    nums = question_numbers(
        "A farm has 1,200 hens, 25% are brown; eggs cost $2.50. On day 3/4 at 6:30 the 1st..."
    )
    assert [(q.value, q.commas, q.percent, q.decimals) for q in nums] == [
        (1200.0, True, False, 0),
        (25.0, False, True, 0),
        (2.5, False, False, 2),
    ]


def test_analyse_maps_question_numbers_and_refuses_what_it_cannot_explain(mini_gsm8k):
    by_id = {p.id: p for p in mini_gsm8k}
    t = analyse("x", by_id["gsm8k/train/2"].question, by_id["gsm8k/train/2"].solution)
    assert t.reason is None and t.free == [25.0, 1200.0]  # the 25% is matched to the chain's 25*.01
    # a literal computed "in the head" (40 = 5*8) would go stale: the problem is skipped
    t = analyse(
        "y", "Bo works 5 days, 8 hours a day, for $3 an hour.", "He earns 40*3 = <<40*3=120>>120.\n#### 120"
    )
    assert t.reason == "unexplained_literal"
    # 2 is both a question number and "twice": it is kept, the rest is free
    t = analyse(
        "z",
        "Al has 2 cats and 6 dogs and twice as many fish as cats.",
        "Fish: 2*2 = <<2*2=4>>4.\nAll: 2+6+4 = <<2+6+4=12>>12\n#### 12",
    )
    assert t.reason is None and t.free == [6.0]


def test_variants_are_deterministic_and_carry_provenance(mini_gsm8k):
    a, b = _variants(mini_gsm8k, seed=7), _variants(mini_gsm8k, seed=7)
    assert a == b
    c = _variants(mini_gsm8k, seed=8)
    assert [v["question"] for v in a["gsm8k/train/1"]] != [v["question"] for v in c["gsm8k/train/1"]]
    for sid, vs in a.items():
        for v in vs:
            assert v["source_id"] == sid and v["method"] == "numeric_perturbation" and v["seed"] == 7
            assert v["id"] == f"{sid}/perturb-7-{v['variant']}"


def test_every_variant_is_self_consistent_and_valid(mini_gsm8k):
    variants = [v for vs in _variants(mini_gsm8k, n=4).values() for v in vs]
    assert len(variants) >= 12
    originals = {p.question for p in mini_gsm8k}
    for v in variants:
        assert v["question"] not in originals
        # the rewritten chain re-reads cleanly and gives the new gold
        program, rejected = prepare(v["id"], v["answer"])
        assert rejected is None, (rejected.reason, v["answer"])
        chain = parse_chain(v["answer"])
        assert chain.gold == pytest.approx(float(v["gold"]))
        # whole-number stories stay whole, nothing negative
        assert all(evaluate(s.expr) >= 0 for s in chain.steps)
        # the code-nested solution's last output is the new gold
        segs = parse(v["solution"])
        last_out = [s for s in segs if isinstance(s, Output)][-1].output.split("\n")[-1]
        assert float(last_out) == pytest.approx(float(v["gold"]))
        assert any(isinstance(s, Code) for s in segs) and v["solution"].endswith(f"\\boxed{{{v['gold']}}}.")


def test_new_values_appear_in_question_with_original_formatting(mini_gsm8k):
    jo = _variants(mini_gsm8k, n=4)["gsm8k/train/7"]
    assert jo, "the shirts problem should perturb"
    for v in jo:
        for old, new in v["changed"].items():
            if old == "12.5":
                assert f"${float(new):.2f}" in v["question"]  # two decimals, as "$12.50" was written


def test_draw_keeps_shape():
    rng = random.Random(0)
    for _ in range(200):
        assert draw(40.0, 0, False, rng) % 10 == 0
        assert draw(15.0, 0, False, rng) % 5 == 0
        assert 0 < draw(25.0, 0, True, rng) <= 95
        x = draw(2.5, 2, False, rng)
        assert round(x, 2) == x and x > 0


def test_invalid_variants_are_rejected_with_reason():
    # 7 / 2 people: any draw that makes a non-whole count must be refused
    t = analyse(
        "p",
        "7 kids share 14 apples equally. How many apples does each kid get?",
        "Each gets 14/7 = <<14/7=2>>2 apples.\n#### 2",
    )
    assert t.reason is None
    reasons = {make_variant(t, 0, k).reason for k in range(40)}
    assert "invalid_value" in reasons
    kept = [make_variant(t, 0, k).row for k in range(40) if make_variant(t, 0, k).ok]
    assert kept and all(float(r["gold"]).is_integer() for r in kept)


def test_value_used_more_often_than_written_is_kept_and_article_follows_number():
    from mathforge.augment.perturb import _fix_article

    # "2" is the pies and, unwritten, Rebecca + her husband: it must not be redrawn
    t = analyse("r", "Rebecca bought 2 pies cut into 8 slices. She and her husband each ate a slice. How many are left?",
                "There are 2*8 = <<2*8=16>>16 slices.\nThen 16-2 = <<16-2=14>>14 are left.\n#### 14")  # fmt: skip
    assert t.reason is None and t.free == [8.0]
    assert _fix_article("He bought an ", "15") == "He bought a "
    assert _fix_article("He bought a ", "18") == "He bought an "


def test_rendered_outputs_are_what_the_sandbox_prints(mini_gsm8k, sandbox):
    from mathforge.augment.convert import split_outputs

    variants = [v for vs in _variants(mini_gsm8k, n=3).values() for v in vs]
    programs = [prepare(v["id"], v["answer"])[0] for v in variants]
    results = sandbox.run_many([p.source() for p in programs])
    for v, program, res in zip(variants, programs, results, strict=True):
        executed = split_outputs(res.stdout, len(program.blocks))
        shown = [s.output for s in parse(v["solution"]) if isinstance(s, Output)]
        assert shown == executed == program.outputs(), v["id"]
