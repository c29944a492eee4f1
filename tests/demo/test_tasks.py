"""The demo's synthetic task generator: held-out data really unseen, solutions correct, everything seeded."""

from __future__ import annotations

import re

import pytest

from mathforge.answer import extract_answer
from mathforge.demo import code_solution, cot_solution, generate, program, redraw, split_templates
from mathforge.demo.tasks import MUL_RANGE, TEST_RANGE, TRAIN_RANGE
from mathforge.solution import Code, Output, Text, parse

TRAIN, TEST = generate(seed=3, n_train=400, n_test=200)


def numbers(question: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", question)]


def test_heldout_templates_are_unseen_but_use_known_clauses():
    train_t, held_t = split_templates(3)
    assert not set(train_t) & set(held_t)
    assert {s for t in held_t for s in t} <= {s for t in train_t for s in t}
    train_names = {p.template for p in TRAIN}
    unseen = [p for p in TEST if p.heldout == "template"]
    assert unseen and all(p.template not in train_names for p in unseen)
    assert all(p.template in train_names for p in TEST if p.heldout == "range")


def test_self_training_problems_come_from_the_training_templates_never_the_test_ones():
    from mathforge.demo.tasks import check_problems, train_distribution

    fresh = train_distribution(3, 200, "fresh")
    train_names, test_names = (
        {p.template for p in TRAIN},
        {p.template for p in TEST if p.heldout == "template"},
    )
    assert {p.template for p in fresh} <= train_names and not {p.template for p in fresh} & test_names
    assert not {p.question for p in fresh} & {p.question for p in TRAIN}  # new draws, not the training rows
    lo, hi = TEST_RANGE
    assert not any(lo <= n <= hi for p in fresh for n in numbers(p.question))
    assert {p.question for p in fresh}.isdisjoint(p.question for p in check_problems(3, 200))


def test_heldout_number_range_never_appears_in_training():
    lo, hi = TEST_RANGE
    for p in TRAIN:
        assert not any(lo <= n <= hi for n in numbers(p.question)), p.question
        assert all(TRAIN_RANGE[0] <= n <= TRAIN_RANGE[1] for s, n in p.steps if s.kind != "mul")
    for p in TEST:
        assert all(lo <= n <= hi for s, n in p.steps if s.kind != "mul"), p.question
        assert all(MUL_RANGE[0] <= n <= MUL_RANGE[1] for s, n in p.steps if s.kind == "mul")


def test_shape_two_to_four_operations_with_three_or_four_digit_operands():
    for p in TRAIN + TEST:
        assert 2 <= len(p.steps) <= 4
        assert all(100 <= n <= 9999 for s, n in p.steps if s.kind != "mul")
        assert p.answer >= 100


def test_cot_solutions_are_one_correct_line_per_step_on_the_running_amount():
    for p in TRAIN[:100] + TEST[:100]:
        text = cot_solution(p)
        assert extract_answer(text) == str(p.answer)
        lines, amount = text.splitlines()[:-1], p.start
        assert len(lines) == len(p.steps)
        for line, (_, n) in zip(lines, p.steps, strict=True):
            lhs, result = line.split("=")
            assert lhs.startswith(str(amount)) and lhs.endswith(str(n))  # copies the amount and the operand
            assert eval(lhs) == int(result)
            amount = int(result)


def test_training_operands_skip_the_held_out_band_and_cover_every_leading_digit():
    lo, hi = TEST_RANGE
    train_operands = [n for p in TRAIN for s, n in p.steps if s.kind != "mul"] + [p.start for p in TRAIN]
    assert not any(lo <= n <= hi for n in train_operands)
    # the band sits inside the range: 4-digit training numbers start with every digit 1-9
    assert {str(n)[0] for n in train_operands if 1000 <= n <= 9999} == set("123456789")
    assert all(lo <= n <= hi for p in TEST for s, n in p.steps if s.kind != "mul")


def test_code_solutions_parse_as_tora_and_box_the_answer():
    p = TEST[0]
    segs = parse(code_solution(p), "tora")
    assert [type(s) for s in segs] == [Text, Code, Output, Text]
    assert segs[1].code == program(p) and segs[2].output == str(p.answer)
    assert extract_answer(code_solution(p)) == str(p.answer)


def test_programs_are_correct_when_executed_in_the_sandbox():
    from mathforge.sandbox import Sandbox

    sample = TRAIN[:30] + TEST[:30]
    with Sandbox(workers=2, timeout=10) as box:
        results = box.run_many([program(p) for p in sample])
    for p, r in zip(sample, results, strict=True):
        assert r.status == "ok", r
        assert r.stdout.strip() == str(p.answer)


def test_seeded_and_seed_sensitive():
    again_train, again_test = generate(seed=3, n_train=400, n_test=200)
    assert [p.question for p in again_train] == [p.question for p in TRAIN]
    assert [p.answer for p in again_test] == [p.answer for p in TEST]
    other, _ = generate(seed=4, n_train=400, n_test=10)
    assert [p.question for p in other] != [p.question for p in TRAIN]


@pytest.mark.parametrize("copies", [1, 3])
def test_redraw_keeps_templates_and_draws_new_training_numbers(copies):
    base = TRAIN[:50]
    aug = redraw(base, copies, seed=3)
    assert len(aug) == copies * len(base)
    for i, q in enumerate(aug):
        src = base[i % len(base)]
        assert q.meta["augmented_from"] == src.id and q.template == src.template
        assert extract_answer(cot_solution(q)) == str(q.answer)  # answers recomputed exactly
        assert all(TRAIN_RANGE[0] <= n <= TRAIN_RANGE[1] for s, n in q.steps if s.kind != "mul")
    assert sum(q.question != base[i % len(base)].question for i, q in enumerate(aug)) >= len(aug) - 1


def test_copy_rows_ask_for_the_line_verbatim_with_numbers_of_every_leading_digit_and_no_task_words():
    from mathforge.demo.tasks import FILLER, copy_rows

    rows = copy_rows(0, 400)
    assert all(r["prompt"] == f"Copy: {r['completion']}\n" for r in rows)
    numbers = [w.rstrip(".") for r in rows for w in r["completion"].split() if w.rstrip(".").isdigit()]
    assert {n[0] for n in numbers} == set("123456789")  # no number range of the task is favoured
    assert {len(n) for n in numbers} == {1, 2, 3, 4, 5}
    task_words = {w.strip(".?").lower() for p in TRAIN + TEST for w in p.question.split()}
    assert not task_words & set(FILLER)  # the base learns to copy, nothing about the task
    check = copy_rows(0, 32, "check")
    assert not {r["completion"] for r in check} & {r["completion"] for r in rows}
