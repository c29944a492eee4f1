"""Answer extraction: boxed > stated answer > last output block > last number; never from ```python."""

from __future__ import annotations

import pytest

from mathforge.answer import extract_answer, last_boxed


@pytest.mark.parametrize(
    "text,expected",
    [
        ("so $\\boxed{5}$.", "5"),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("\\boxed{\\frac{\\sqrt{3}}{2}} and more", "\\frac{\\sqrt{3}}{2}"),
        ("first \\boxed{1} then \\boxed{2}", "2"),
        ("\\fbox{7}", "7"),
        ("$\\boxed 5$", "5"),
        ("\\boxed{\\{1,2\\}}", "\\{1,2\\}"),
        ("\\boxed{\\begin{pmatrix}1\\\\2\\end{pmatrix}}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}"),
        ("\\boxed{3} and a broken \\boxed{4", "3"),
        ("no box here", None),
        ("", None),
        (None, None),
    ],
)
def test_last_boxed(text, expected):
    assert last_boxed(text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        # 1. boxed wins over everything
        ("The answer is 4.\nSo \\boxed{5}.", "5"),
        ("Final: $\\boxed{\\dfrac{3}{4}}$", "\\dfrac{3}{4}"),
        # 2. stated answers
        ("Adding up, the answer is 18.", "18"),
        ("The answer is: $\\frac{1}{2}$.", "\\frac{1}{2}"),
        ("The answer is 3.5.", "3.5"),
        ("Final Answer: The final answer is $7$. I hope it is correct.", "7"),
        ("Final Answer: 12", "12"),
        ("the answer is 2 and later the answer is 3", "3"),
        # 3. last output block
        ("```python\nprint(6*7)\n```\n```output\n42\n```\n", "42"),
        ("```python\nx=1\n```\n```output\n1\n```\n```python\nprint(2)\n```\n```output\nfoo\n2\n```", "2"),
        # 4. last number in prose
        ("She has 3 apples and buys 1,200 more", "1200"),
        ("It costs $-4.5 per unit", "-4.5"),
        ("nothing numeric", None),
    ],
)
def test_extract_order(text, expected):
    assert extract_answer(text) == expected


def test_python_blocks_are_never_the_answer():
    text = "Let me compute.\n```python\nprint('\\\\boxed{99}')\nanswer = 99\n```\nI need to run this."
    assert extract_answer(text) is None


def test_boxed_inside_python_ignored_but_prose_box_found():
    text = "```python\ns = r'\\boxed{1}'\n```\n```output\n1\n```\nHence \\boxed{2}."
    assert extract_answer(text) == "2"


def test_number_in_code_does_not_beat_prose_number():
    text = "We get 12 apples.\n```python\nprint(99)\n```"
    assert extract_answer(text) == "12"


def test_unterminated_python_block_is_ignored():
    assert extract_answer("Start: 5 items.\n```python\nprint(7") == "5"


def test_output_block_that_states_the_answer():
    assert extract_answer("```output\nThe answer is 10\n```") == "10"
