"""Fits of accuracy against the amount of training data (MuggleMath's log-linear law and its breaks).

``x`` is always log10 of the number of training examples: MuggleMath reports accuracy rising linearly in
log N on GSM8K, and a segmented log-linear curve on MATH (a slope change at an estimated breakpoint).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LogLinearFit:
    """accuracy = intercept + slope * log10(N); slope is accuracy gained per tenfold data."""

    slope: float
    intercept: float
    r2: float
    points: int

    def predict(self, n: float) -> float:
        return self.intercept + self.slope * math.log10(n)


@dataclass(frozen=True)
class SegmentedFit:
    """Two line segments in log10(N) that meet at ``breakpoint`` (a continuous hinge)."""

    breakpoint: float  # N at the break
    slope_before: float
    slope_after: float
    intercept: float
    sse: float

    def predict(self, n: float) -> float:
        x, k = math.log10(n), math.log10(self.breakpoint)
        return (
            self.intercept + self.slope_before * x + (self.slope_after - self.slope_before) * max(0.0, x - k)
        )


def fit_loglinear(ns: Sequence[float], accuracies: Sequence[float]) -> LogLinearFit:
    """Least squares of accuracy on log10(N); needs two or more distinct N."""
    xs = [math.log10(n) for n in ns]
    if len(set(xs)) < 2:
        raise ValueError("a log-linear fit needs two or more distinct data sizes")
    slope, intercept = _line(xs, list(accuracies))
    mean_y = sum(accuracies) / len(accuracies)
    ss_tot = sum((y - mean_y) ** 2 for y in accuracies)
    ss_res = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, accuracies, strict=True))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    return LogLinearFit(slope, intercept, r2, len(xs))


def fit_two_segment(ns: Sequence[float], accuracies: Sequence[float], grid: int = 200) -> SegmentedFit:
    """The continuous two-segment fit with the least squared error over breakpoints between the 2nd and the
    second-to-last data size (each segment keeps at least two points' support). Needs four or more sizes."""
    xs, ys = [math.log10(n) for n in ns], list(accuracies)
    distinct = sorted(set(xs))
    if len(distinct) < 4:
        raise ValueError("a two-segment fit needs four or more distinct data sizes")
    lo, hi = distinct[1], distinct[-2]
    best = None
    for i in range(grid + 1):
        k = lo + (hi - lo) * i / grid
        coef, sse = _least_squares([[1.0, x, max(0.0, x - k)] for x in xs], ys)
        if best is None or sse < best[0] - 1e-12:
            best = (sse, k, coef)
    sse, k, (a, b, c) = best
    return SegmentedFit(10**k, b, b + c, a, sse)


def bootstrap_slope(
    ns: Sequence[float], correct: Sequence[Sequence[float]], iters: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """95% interval of the log-linear slope, resampling the test problems (the same draw for every model,
    since all models answer the same problems): ``correct[i][j]`` is model i's score on problem j."""
    n_problems = len(correct[0])
    if any(len(row) != n_problems for row in correct):
        raise ValueError("every model must be scored on the same problems")
    rng = random.Random(seed)
    slopes = []
    for _ in range(iters):
        draw = [rng.randrange(n_problems) for _ in range(n_problems)]
        accs = [sum(row[j] for j in draw) / n_problems for row in correct]
        slopes.append(fit_loglinear(ns, accs).slope)
    slopes.sort()
    return slopes[int(0.025 * (iters - 1))], slopes[int(0.975 * (iters - 1))]


def _line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return slope, my - slope * mx


def _least_squares(rows: list[list[float]], ys: list[float]) -> tuple[list[float], float]:
    import numpy as np

    a, y = np.asarray(rows, dtype=float), np.asarray(ys, dtype=float)
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    return [float(c) for c in coef], float(((y - a @ coef) ** 2).sum())
