"""Self-consistency over n samples: answers grouped into equivalence classes, maj@k and pass@k.

Classes come from the answer grader (``mathforge.answer``), not string equality, so ``0.5``, ``1/2`` and
``\\frac{1}{2}`` vote together. pass@k uses the unbiased estimator of Chen et al. (2021):
``1 - C(n - c, k) / C(n, k)`` for n samples of which c are correct.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

EquivMany = Callable[[list[tuple[str, str]]], list[bool]]


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn without replacement from n (c correct) is correct."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    prob_all_wrong = 1.0
    for i in range(n - c + 1, n + 1):  # product form: no huge binomials
        prob_all_wrong *= 1.0 - k / i
    return 1.0 - prob_all_wrong


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


def default_ks(n: int) -> list[int]:
    ks = [k for k in (1, 2, 4, 8, 16, 32, 64, 128, 256) if k <= n]
    return ks if n in ks else [*ks, n]


def sample_metrics(
    problems: Sequence[tuple[Sequence[bool], Sequence[int]]], ks: Sequence[int] | None = None
) -> dict[str, float]:
    """maj@k and pass@k (as fractions) over problems given as (correct per sample, class per sample).

    maj@k votes among each problem's first k samples; pass@k uses all n samples (unbiased estimator).
    Problems with fewer than k samples are left out of that k's average.
    """
    if not problems:
        return {}
    n_max = max(len(c) for c, _ in problems)
    out: dict[str, float] = {}
    for k in ks or default_ks(n_max):
        maj, pas = [], []
        for correct, classes in problems:
            if len(correct) < k:
                continue
            idx = majority_index(classes, k)
            maj.append(idx is not None and bool(correct[idx]))
            pas.append(pass_at_k(len(correct), sum(map(bool, correct)), k))
        if maj:
            out[f"maj@{k}"] = sum(maj) / len(maj)
            out[f"pass@{k}"] = sum(pas) / len(pas)
    return out
