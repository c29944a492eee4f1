"""Answer extraction, equivalence and a grading pool with a hard per-pair timeout.

>>> extract_answer("... so the answer is $\\\\boxed{\\\\frac{1}{2}}$.")
'\\\\frac{1}{2}'
>>> is_equiv("0.5", "\\\\frac12")
True
>>> with Grader(workers=2, timeout=5) as g:
...     results = g.grade_many([("3", "x=3"), ("(1,2)", "[1,2]")])
"""

from mathforge.answer.classes import answer_classes, majority_index
from mathforge.answer.config import GraderConfig
from mathforge.answer.equiv import is_equiv
from mathforge.answer.extract import extract_answer
from mathforge.answer.grader import Grader, GradeResult
from mathforge.answer.multi import split_answers
from mathforge.answer.options import GradeOptions
from mathforge.solution.boxed import last_boxed

__all__ = [
    "GradeOptions",
    "GradeResult",
    "Grader",
    "GraderConfig",
    "answer_classes",
    "extract_answer",
    "is_equiv",
    "last_boxed",
    "majority_index",
    "split_answers",
]
