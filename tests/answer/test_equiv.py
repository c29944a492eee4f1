"""Regression table for answer equivalence: each row is (prediction, gold, expected verdict)."""

from __future__ import annotations

import pytest

from mathforge.answer import is_equiv

# fmt: off
PAIRS = [
    # plain numbers, thousands commas, currency, trailing .0
    ("42", "42", True),
    ("42.0", "42", True),
    ("1,000", "1000", True),
    ("1{,}000", "1000", True),
    ("12,345,678", "12345678", True),
    ("15000", "\\$15,\\!000", True),
    ("1\\,000", "1000", True),
    ("\\$1,234.50", "1234.5", True),
    ("$18", "18", True),
    ("-7", "-7", True),
    ("7", "-7", False),
    ("41", "42", False),
    ("0.5", "0.50", True),
    ("0.5000001", "0.5", False),
    ("3244047.0999999996", "3244047.1", True),
    # units and \text{}
    ("10\\text{ cm}", "10", True),
    ("10 \\text{cm}^2", "10", True),
    ("5 dollars", "5", True),
    ("12 \\mbox{ inches}", "12", True),
    ("10\\text{ cm}", "11", False),
    # degrees
    ("30^\\circ", "30", True),
    ("30^{\\circ}", "30", True),
    ("30", "30^\\circ", True),
    ("60^\\circ", "30", False),
    # percent: the sign is a unit; gold x 100 / 100 only with percent=True (tested below)
    ("50\\%", "50", True),
    ("50%", "50", True),
    ("50", "0.5", False),
    ("0.5", "50\\%", False),
    # fractions: \dfrac, \tfrac, \frac12, slash, decimal
    ("\\dfrac{3}{4}", "\\frac{3}{4}", True),
    ("\\tfrac34", "\\dfrac{3}{4}", True),
    ("0.5", "\\frac12", True),
    ("\\frac{1}{2}", "0.5", True),
    ("1/2", "\\frac{1}{2}", True),
    ("-\\frac{3}{4}", "-0.75", True),
    ("\\frac{-3}{4}", "-\\frac34", True),
    ("\\frac{2}{4}", "\\frac{1}{2}", True),
    ("\\frac{1}{3}", "\\frac{1}{2}", False),
    ("0.333333", "\\frac{1}{3}", True),
    ("0.33", "\\frac{1}{3}", False),
    # the factorial false positive: exact rationals compared exactly, not after rounding
    ("\\frac{1}{2004!}", "\\frac{1}{2006!}", False),
    ("\\frac{1}{2006!}", "\\frac{1}{2006!}", True),
    ("\\frac{1}{10^{20}}", "\\frac{1}{10^{21}}", False),
    # x = 3 vs 3
    ("x=3", "3", True),
    ("3", "x = 3", True),
    ("y = 4", "3", False),
    # pi and square roots
    ("\\pi/2", "\\frac{\\pi}{2}", True),
    ("\\frac{\\pi}{2}", "\\frac12\\pi", True),
    ("1.5707963", "\\frac{\\pi}{2}", True),
    ("2\\pi", "\\pi", False),
    ("2\\sqrt{2}", "\\sqrt{8}", True),
    ("\\sqrt{2}/2", "\\frac{\\sqrt{2}}{2}", True),
    ("\\frac{1}{\\sqrt{2}}", "\\frac{\\sqrt2}{2}", True),
    ("\\sqrt{3}", "\\sqrt{2}", False),
    ("3\\sqrt{3}", "\\sqrt{27}", True),
    # scientific notation
    ("1.5e3", "1500", True),
    ("5 \\times 10^3", "5000", True),
    ("2.5\\times10^{-3}", "0.0025", True),
    ("1e3", "100", False),
    # intervals: open vs closed matters
    ("[1,2)", "[1,2)", True),
    ("[1,2)", "[1,2]", False),
    ("(1,2)", "[1,2]", False),
    ("(-\\infty, 3]", "(-\\infty,3]", True),
    ("(-\\infty, 3)", "(-\\infty,3]", False),
    ("(-\\infty,-2)\\cup(3,\\infty)", "(-\\infty,-2) \\cup (3,\\infty)", True),
    # unordered sets vs ordered tuples
    ("\\{1,2\\}", "\\{2,1\\}", True),
    ("\\{1,3\\}", "\\{1,2\\}", False),
    ("2,1", "1,2", True),
    ("(2,1)", "(1,2)", False),
    ("(3,-4)", "(3,-4)", True),
    ("(1,2,3)", "(1,2,3)", True),
    ("(1,3,2)", "(1,2,3)", False),
    # matrices
    ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", True),
    ("\\begin{pmatrix}2\\\\1\\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", False),
    ("\\begin{pmatrix}1&0\\\\0&1\\end{pmatrix}", "\\begin{pmatrix}1&0\\\\0&1\\end{pmatrix}", True),
    ("\\begin{pmatrix}\\frac12\\\\1\\end{pmatrix}", "\\begin{pmatrix}0.5\\\\1\\end{pmatrix}", True),
    # symbolic expressions
    ("x^2+2x+1", "(x+1)^2", True),
    ("2x+1", "1+2x", True),
    ("x^2-1", "x^2+1", False),
    ("\\frac{x+1}{2}", "\\frac{x}{2}+\\frac{1}{2}", True),
    ("1+2i", "1+2i", True),
    ("\\text{(C)}", "C", True),
    ("\\text{Monday}", "\\text{Monday}", True),
    # numbers in a base: the subscript matters (math-verify drops it)
    ("2516_8", "2516_8", True),
    ("2516_{8}", "2516_8", True),
    ("2516", "2516_8", True),
    ("2516_9", "2516_8", False),
    ("10110_2", "10111_2", False),
    ("A3_{16}", "A3_{16}", True),
    ("x", "x_1", False),
    # sympy/Python printouts (the last ```output block of a tool-integrated solution)
    ("sqrt(2)/2", "\\frac{\\sqrt{2}}{2}", True),
    ("pi/2", "\\frac{\\pi}{2}", True),
    ("x**2 + 1", "x^2+1", True),
    ("5*pi", "5\\pi", True),
    ("-1/2 + sqrt(3)*I/2", "-\\frac12+\\frac{\\sqrt3}{2}i", True),
    ("3*pi", "5\\pi", False),
    ("__import__('os').getcwd()", "1", False),
    # garbage grades false without raising
    ("asdf{{", "3", False),
    ("", "3", False),
    ("}}}{{{\\frac", "\\frac{1}{2}", False),
    ("\\boxed{", "1", False),
    ("None", "0", False),
    ("1/0", "1", False),
    ("\\frac{1}{0}", "\\infty", False),
    ("1e999999999", "1", False),
]
# fmt: on


def test_table_is_large_enough():
    assert len(PAIRS) >= 60
    assert len({(p, g) for p, g, _ in PAIRS}) == len(PAIRS), "duplicate rows"


@pytest.mark.parametrize("pred,gold,expected", PAIRS, ids=[f"{i:02d}" for i in range(len(PAIRS))])
def test_equivalence_table(pred, gold, expected):
    assert is_equiv(pred, gold) is expected


@pytest.mark.parametrize(
    "pred,gold",
    [("50", "0.5"), ("0.5", "50"), ("50\\%", "0.5"), ("12.5", "\\frac{1}{8}"), ("25\\pi", "\\frac{\\pi}{4}")],
)
def test_percent_leniency_is_opt_in(pred, gold):
    assert is_equiv(pred, gold) is False
    assert is_equiv(pred, gold, percent=True) is True


def test_percent_leniency_still_rejects_wrong_answers():
    assert is_equiv("51", "0.5", percent=True) is False


@pytest.mark.parametrize("pred", [None, 3, 3.0])
def test_non_string_inputs(pred):
    assert is_equiv(pred, "3") is (pred is not None)
