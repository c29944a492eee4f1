"""Fits on synthetic data whose slope and breakpoint are known."""

import math
import random

import pytest

from mathforge.study import bootstrap_slope, fit_loglinear, fit_two_segment


def test_loglinear_recovers_a_known_slope_and_r2():
    ns = [100, 200, 400, 800, 1600, 3200]
    accs = [0.1 + 0.15 * math.log10(n) for n in ns]
    fit = fit_loglinear(ns, accs)
    assert fit.slope == pytest.approx(0.15)
    assert fit.intercept == pytest.approx(0.1)
    assert fit.r2 == pytest.approx(1.0)
    assert fit.predict(10_000) == pytest.approx(0.1 + 0.15 * 4)


def test_loglinear_with_noise_has_r2_below_one_and_the_slope_nearby():
    rng = random.Random(0)
    ns = [2**k for k in range(4, 12)]
    accs = [0.05 + 0.2 * math.log10(n) + rng.gauss(0, 0.01) for n in ns]
    fit = fit_loglinear(ns, accs)
    assert 0.9 < fit.r2 < 1.0
    assert fit.slope == pytest.approx(0.2, abs=0.02)


def test_two_segment_finds_the_breakpoint_and_both_slopes():
    ns = [10 * 2**k for k in range(10)]  # 10 .. 5120
    brk = 400.0

    def truth(n):
        x, k = math.log10(n), math.log10(brk)
        return 0.1 + 0.30 * x - 0.25 * max(0.0, x - k)  # slope 0.30 before, 0.05 after

    seg = fit_two_segment(ns, [truth(n) for n in ns], grid=400)
    assert seg.breakpoint == pytest.approx(brk, rel=0.03)
    assert seg.slope_before == pytest.approx(0.30, abs=1e-3)
    assert seg.slope_after == pytest.approx(0.05, abs=1e-3)
    assert seg.sse < 1e-8
    # a straight line is the wrong model for these points
    line = fit_loglinear(ns, [truth(n) for n in ns])
    assert line.r2 < 0.99


def test_fits_refuse_too_few_sizes():
    with pytest.raises(ValueError, match="two or more"):
        fit_loglinear([100, 100], [0.1, 0.2])
    with pytest.raises(ValueError, match="four or more"):
        fit_two_segment([10, 100, 1000], [0.1, 0.2, 0.3])


def test_bootstrap_interval_covers_the_slope_and_is_narrower_with_more_problems():
    rng = random.Random(1)
    ns = [50, 100, 200, 400, 800]

    def scores(n_problems):
        # model i answers each problem correctly with probability p_i (rising by 0.1 per doubling)
        return [[float(rng.random() < 0.2 + 0.1 * i) for _ in range(n_problems)] for i in range(len(ns))]

    small, large = scores(60), scores(2000)
    lo_s, hi_s = bootstrap_slope(ns, small, iters=300)
    lo_l, hi_l = bootstrap_slope(ns, large, iters=300)
    true_slope = 0.1 / math.log10(2)
    assert lo_l <= true_slope <= hi_l
    assert (hi_l - lo_l) < (hi_s - lo_s) / 2  # sqrt(2000/60) ~ 5.8x narrower in expectation
    with pytest.raises(ValueError, match="same problems"):
        bootstrap_slope(ns, [[1.0], [1.0, 0.0], [0.0], [1.0], [0.0]])
