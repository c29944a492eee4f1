"""pass@k and maj@k over n samples per problem.

pass@k uses the unbiased estimator of Chen et al. (2021): ``1 - C(n - c, k) / C(n, k)`` for n samples of
which c are correct; maj@k votes among a problem's first k samples (classes from
:func:`mathforge.answer.answer_classes`).
"""

from __future__ import annotations

from collections.abc import Sequence

from mathforge.answer.classes import majority_index


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
