"""Stage-1 (CoT) training rows from the datasets' own worked solutions (``mathforge augment rationale``).

* GSM8K (and anything in its format, such as ``augment perturb`` variants): the calculator annotations
  ``<<48/2=24>>`` are removed (the model never sees them at inference) and the final ``#### 72`` line
  becomes ``The answer is \\boxed{72}.``, so stage 1 teaches the answer format the graders read.
* MATH: the solution as written (it already ends in ``\\boxed{...}``).

Each row is a :class:`~mathforge.rows.SolutionRow` with ``mode="cot"`` and its source's id.
"""

from __future__ import annotations

import re

from mathforge.rows import SolutionRow
from mathforge.solution import last_boxed

_ANNOTATION = re.compile(r"<<[^<>]*>>")
_FINAL = re.compile(r"\n?\s*####\s*(.+?)\s*$", re.S)


class RationaleError(ValueError):
    """A solution that cannot become a CoT row; the message is the reject reason."""


def gsm8k_cot(rationale: str) -> str:
    """GSM8K's rationale with annotations stripped and the ``####`` answer boxed."""
    m = _FINAL.search(rationale)
    if m is None:
        raise RationaleError("no_final_answer")
    answer = m.group(1).strip().replace(",", "")
    if not answer:
        raise RationaleError("empty_final_answer")
    body = _ANNOTATION.sub("", rationale[: m.start()]).strip()
    if not body:
        raise RationaleError("no_reasoning")
    return f"{body}\nThe answer is \\boxed{{{answer}}}."


def cot_row(problem) -> SolutionRow:
    """The CoT row of a problem (``mathforge.data.Problem``) with a reference solution."""
    solution = problem.solution or ""
    if "####" in solution:
        text = gsm8k_cot(solution)
    elif last_boxed(solution) is not None:
        text = solution.strip()
    else:
        raise RationaleError("no_reference_solution" if not solution.strip() else "no_boxed_answer")
    return SolutionRow(id=f"{problem.id}/cot", source_id=problem.id, method="gold_rationale", question=problem.question,
                       solution=text, gold=problem.gold, mode="cot", format="tora")  # fmt: skip
