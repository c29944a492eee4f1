"""Reranking sampled solutions with a value model (MARIO's OVM@k), beside majority voting and pass@k.

For each problem, its first k samples each have an answer class (answers grouped by the grader), a
verdict, and a value score (the value model's estimate that the solution is correct). The rules:

* ``maj``: the most frequent answer class (ties: the class seen first);
* ``ovm``: the single sample with the highest value (MARIO's OVM@k);
* ``weighted``: the class with the largest sum of values (a value-weighted vote);
* ``maj_value``: the most frequent class, ties broken by the highest value in the class;
* ``outlier_free@t``: drop classes holding less than a share t of the k answers, then the highest value
  among what is left (MARIO's exact rule is not public, so t is a parameter; reports show two settings);

plus ``pass@k`` (unbiased estimator). Samples without an answer never win a vote; ``ovm`` picks among
answered samples when there are any. Calibration: a reliability diagram (10 bins of the score) and the
AUROC of the score against correctness (the probability that a random correct sample outscores a random
wrong one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from mathforge.evaluate.sampling import default_ks, pass_at_k


@dataclass(frozen=True)
class Scored:
    cls: int  # answer class (-1: no answer)
    correct: bool
    value: float


def _answered(samples: Sequence[Scored]) -> list[int]:
    return [i for i, s in enumerate(samples) if s.cls >= 0]


def pick(rule: str, samples: Sequence[Scored], threshold: float = 0.0) -> int | None:
    """Index of the sample a rule picks among ``samples`` (None: nothing to pick)."""
    answered = _answered(samples)
    if rule == "ovm":
        pool = answered or list(range(len(samples)))
        return max(pool, key=lambda i: (samples[i].value, -i)) if pool else None
    if not answered:
        return None
    counts: dict[int, int] = defaultdict(int)
    sums: dict[int, float] = defaultdict(float)
    best: dict[int, int] = {}  # class -> its highest-valued sample
    first: dict[int, int] = {}
    for i in answered:
        c = samples[i].cls
        counts[c] += 1
        sums[c] += samples[i].value
        first.setdefault(c, i)
        if c not in best or samples[i].value > samples[best[c]].value:
            best[c] = i
    if rule == "maj":
        return first[max(counts, key=lambda c: (counts[c], -first[c]))]
    if rule == "maj_value":
        return best[max(counts, key=lambda c: (counts[c], samples[best[c]].value, -first[c]))]
    if rule == "weighted":
        return best[max(sums, key=lambda c: (sums[c], -first[c]))]
    if rule == "outlier_free":
        kept = [c for c in counts if counts[c] / len(samples) >= threshold] or list(counts)
        return max((best[c] for c in kept), key=lambda i: (samples[i].value, -i))
    raise ValueError(f"unknown rule {rule!r}")


def rule_names(thresholds: Sequence[float]) -> list[tuple[str, str, float]]:
    """(report name, rule, threshold) for every rule reported."""
    out = [
        ("maj", "maj", 0.0),
        ("ovm", "ovm", 0.0),
        ("weighted", "weighted", 0.0),
        ("maj_value", "maj_value", 0.0),
    ]
    return out + [(f"outlier_free({t:g})", "outlier_free", t) for t in thresholds]


def rerank_table(problems: Sequence[Sequence[Scored]], ks: Sequence[int] | None = None,
                 thresholds: Sequence[float] = (0.2, 0.4)) -> dict[str, dict[int, float]]:  # fmt: skip
    """Accuracy of every rule at every k (and pass@k), as fractions: ``{"ovm": {1: .., 4: ..}, ...}``."""
    if not problems:
        return {}
    n = min(len(p) for p in problems)
    table: dict[str, dict[int, float]] = {}
    for k in ks or default_ks(n):
        if k > n:
            continue
        for name, rule, t in rule_names(thresholds):
            hits = []
            for samples in problems:
                i = pick(rule, samples[:k], t)
                hits.append(i is not None and samples[i].correct)
            table.setdefault(name, {})[k] = sum(hits) / len(hits)
        table.setdefault("pass", {})[k] = sum(
            pass_at_k(len(p), sum(s.correct for s in p), k) for p in problems
        ) / len(problems)
    return table


def auroc(scores: Sequence[float], correct: Sequence[bool]) -> float | None:
    """P(score of a random correct sample > score of a random wrong one), ties counted half; None when one
    class is empty."""
    pos = [s for s, c in zip(scores, correct, strict=True) if c]
    neg = [s for s, c in zip(scores, correct, strict=True) if not c]
    if not pos or not neg:
        return None
    ranked = sorted((s, c) for s, c in zip(scores, correct, strict=True))
    # rank-sum (Mann-Whitney U) with average ranks for ties
    ranks: dict[int, float] = {}
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(ranks[k] for k, (_, c) in enumerate(ranked) if c)
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def calibration(scores: Sequence[float], correct: Sequence[bool], bins: int = 10) -> list[dict]:
    """Reliability diagram data: per score bin (of [0, 1], scores clipped), mean score, share correct, count."""
    groups: dict[int, list[tuple[float, bool]]] = defaultdict(list)
    for s, c in zip(scores, correct, strict=True):
        clipped = min(1.0, max(0.0, s))
        groups[min(bins - 1, int(clipped * bins))].append((clipped, c))
    return [{"bin": b, "low": b / bins, "high": (b + 1) / bins, "count": len(g),
             "mean_score": sum(s for s, _ in g) / len(g), "accuracy": sum(c for _, c in g) / len(g)}
            for b, g in sorted(groups.items())]  # fmt: skip
