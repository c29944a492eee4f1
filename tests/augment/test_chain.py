"""Reading GSM8K chains: annotations, prose arithmetic, GSM8K's notation quirks."""

from __future__ import annotations

import pytest

from mathforge.augment.chain import (
    ChainError,
    EvalError,
    evaluate,
    normalise_expr,
    parse_chain,
    parse_number,
    rounds_to,
)


def test_annotations_become_steps_in_order():
    chain = parse_chain("A is 48/2 = <<48/2=24>>24.\nB is 48+24 = <<48+24=72>>72 in all.\n#### 72")
    assert [s.expr for s in chain.steps] == ["48/2", "48+24"]
    assert [s.claimed for s in chain.steps] == [24.0, 72.0]
    assert [s.written for s in chain.steps] == [24.0, 72.0]
    assert chain.gold == 72.0 and chain.gold_text == "72"


def test_unannotated_final_step_is_read_from_prose_with_dollars_and_units():
    chain = parse_chain(
        "Cost is 5*7=$<<5*7=35>>35\nLeft: 2000 cases + 500 cases = 2500 cases, and $75 - $35 = $40\n#### 40"
    )
    prose = [s for s in chain.steps if not s.annotated]
    assert [(s.expr, s.claimed) for s in prose] == [("2000 + 500", 2500.0), ("75 - 35", 40.0)]


def test_written_expression_before_an_annotation_is_not_read_twice():
    chain = parse_chain("He has 12 x 4 = <<12*4=48>>48 eggs.\n#### 48")
    assert len(chain.steps) == 1 and chain.steps[0].annotated


@pytest.mark.parametrize(
    "line",
    [
        "Then B + 2B = 45, so 3B = 45",  # algebra, letters glued to numbers
        "so S + 143 = 200",  # an operator with no number before it
        "It arrived at 6:00+18 = 00:00",  # clock times
        "She pays 3 1/2 = 7/2",  # a mixed number, and a fraction value
        "The second is 4080 + 4080 / 2 = 4000 + 2040 = 6120",  # chained rewrite: only the last '=' counts
    ],
)
def test_prose_that_is_not_plain_arithmetic_is_skipped(line):
    chain = parse_chain(line + "\n#### 1")
    assert all(s.expr != "4080 + 4080 / 2" for s in chain.steps)
    assert all(not s.expr.startswith("+") for s in chain.steps)
    assert len(chain.steps) <= 1


def test_percent_prose_is_in_hundredths():
    chain = parse_chain("The chance is 60% * 50% = 30%\n#### 30")
    (step,) = chain.steps
    assert evaluate(step.expr) == pytest.approx(0.3) and step.claimed == pytest.approx(0.3)


def test_normalise_expr_handles_gsm8k_notation():
    assert normalise_expr("$1,200 x 3") == "1200 * 3"
    assert normalise_expr("10 × $4 − 2") == "10 * 4 - 2"
    assert normalise_expr("25%*8") == "(25/100)*8"
    assert normalise_expr("05+1") == "5+1"


def test_no_final_answer_is_a_chain_error():
    with pytest.raises(ChainError):
        parse_chain("48/2 = <<48/2=24>>24")


def test_evaluate_is_python_arithmetic_and_nothing_else():
    assert evaluate("48 / 2") == 24.0 and isinstance(evaluate("48 / 2"), float)
    assert evaluate("7 // 2 + 2 ** 3") == 11
    assert evaluate("a * 2", {"a": 1.5}) == 3.0
    for bad in ("__import__('os')", "1 / 0", "10 ** 10 ** 10", "x + 1"):
        with pytest.raises(EvalError):
            evaluate(bad)


def test_rounding_is_not_an_error_but_a_wrong_value_is():
    assert rounds_to(10 / 3, "3.33")
    assert rounds_to(24.0, "24")
    assert not rounds_to(20.0, "5")
    assert parse_number("$1,200.50") == 1200.5
