"""Uncertainty a reviewer trusts: intervals over problems, and paired tests between two runs of the same
problems.

* A run's accuracy is the mean over problems of each problem's mean correctness (with one sample per
  problem: plain accuracy; with k: ``pass@1[avg of k]``). Its standard error and a bootstrap 95% interval
  resample problems (seeded, so a report repeats), which is right when samples of a problem are correlated.
* Two runs of the same problems: McNemar's exact test on the problems one solved and the other did not
  (the flips), and a paired bootstrap interval of the accuracy difference.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def standard_error(values: Sequence[float]) -> float:
    n = len(values)
    if n < 2:
        return 0.0
    m = mean(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1) / n)


def bootstrap_ci(
    values: Sequence[float], iters: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of the mean, resampling ``values`` (one per problem) with replacement."""
    if not values:
        return (0.0, 0.0)
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(iters))
    lo = means[int((1 - level) / 2 * iters)]
    hi = means[min(iters - 1, int((1 + level) / 2 * iters))]
    return (lo, hi)


def wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a proportion (good at small n and near 0 or 1)."""
    if n == 0:
        return (0.0, 0.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def mcnemar_exact(fixed: int, broken: int) -> float:
    """Two-sided exact McNemar p-value: under no difference each flip is fixed or broken with chance 1/2."""
    n = fixed + broken
    if n == 0:
        return 1.0
    k = min(fixed, broken)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_bootstrap(a: Sequence[float], b: Sequence[float], iters: int = 2000, seed: int = 0):
    """(mean difference b - a, 95% interval low, high, share of resamples where b <= a) over paired problems."""
    if len(a) != len(b):
        raise ValueError("paired samples must have the same length")
    n = len(a)
    if n == 0:
        return (0.0, 0.0, 0.0, 1.0)
    diffs = [y - x for x, y in zip(a, b, strict=True)]
    rng = random.Random(seed)
    means = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(iters))
    return (mean(diffs), means[int(0.025 * iters)], means[min(iters - 1, int(0.975 * iters))],
            sum(m <= 0 for m in means) / iters)  # fmt: skip
