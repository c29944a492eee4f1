"""Answers grouped into equivalence classes, and the majority among them (self-consistency voting).

Classes come from the grader (``equiv_many``), not string equality, so ``0.5``, ``1/2`` and ``\\frac{1}{2}``
vote together. Used by evaluation (maj@k) and by synthesis (majority-verified answers of new questions).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

EquivMany = Callable[[list[tuple[str, str]]], list[bool]]


def answer_classes(answers: Sequence[str | None], equiv_many: EquivMany) -> list[int]:
    """A class id per answer (-1 for None). Identical strings share a class without grading; distinct ones
    join the first earlier class whose representative they are equivalent to."""
    uniq: list[str] = []
    for a in answers:
        if a is not None and a not in uniq:
            uniq.append(a)
    pairs = [(uniq[j], uniq[i]) for j in range(len(uniq)) for i in range(j)]
    verdicts = dict(zip(pairs, equiv_many(pairs), strict=True)) if pairs else {}
    reps: list[int] = []  # index into uniq of each class representative
    cls_of: dict[str, int] = {}
    for j, a in enumerate(uniq):
        for c, r in enumerate(reps):
            if verdicts[(a, uniq[r])]:
                cls_of[a] = c
                break
        else:
            cls_of[a] = len(reps)
            reps.append(j)
    return [-1 if a is None else cls_of[a] for a in answers]


def majority_index(classes: Sequence[int], k: int | None = None) -> int | None:
    """Index of the sample that speaks for the most voted class among the first k (ties: the class seen
    first); None when none of them has an answer."""
    first = list(classes[: k if k is not None else len(classes)])
    counts: dict[int, int] = {}
    earliest: dict[int, int] = {}
    for i, c in enumerate(first):
        if c < 0:
            continue
        counts[c] = counts.get(c, 0) + 1
        earliest.setdefault(c, i)
    if not counts:
        return None
    best = max(counts, key=lambda c: (counts[c], -earliest[c]))
    return earliest[best]
