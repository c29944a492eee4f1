"""Reranking rules on hand-made score tables: each rule picks what it says; AUROC and calibration."""

from __future__ import annotations

import pytest

from mathforge.evaluate.rerank import Scored, auroc, calibration, pick, rerank_table

# one problem, 6 samples: class 0 (wrong) x3 with low values, class 1 (right) x2 with high values, no answer
TABLE = [Scored(0, False, 0.2), Scored(1, True, 0.9), Scored(0, False, 0.3), Scored(1, True, 0.7),
         Scored(0, False, 0.1), Scored(-1, False, 0.95)]  # fmt: skip


def test_each_rule_picks_what_it_says():
    assert pick("maj", TABLE) == 0  # class 0 has 3 votes
    assert pick("ovm", TABLE) == 1  # the highest value among answered samples (not the unanswered 0.95)
    assert pick("weighted", TABLE) == 1  # class 1 sums 1.6 > class 0's 0.6
    assert pick("outlier_free", TABLE, 0.4) == 2  # class 1 holds 2/6 < 0.4: dropped; class 0 best-valued
    assert pick("outlier_free", TABLE, 0.3) == 1  # both classes stay: the highest value wins
    tie = [Scored(0, False, 0.2), Scored(1, True, 0.8), Scored(0, False, 0.3), Scored(1, True, 0.1)]
    assert pick("maj", tie) == 0 and pick("maj_value", tie) == 1  # a 2-2 tie: the value breaks it
    assert pick("maj", [Scored(-1, False, 0.5)]) is None and pick("ovm", [Scored(-1, False, 0.5)]) == 0


def test_the_table_by_k_and_pass_at_k():
    table = rerank_table([TABLE, [Scored(0, True, 0.6)] * 6], ks=[1, 2, 4], thresholds=(0.4,))
    assert table["maj"] == {1: 0.5, 2: 0.5, 4: 0.5}  # problem 1: sample 0 (wrong) leads at every k
    assert table["ovm"][1] == 0.5 and table["ovm"][2] == 1.0 and table["ovm"][4] == 1.0
    assert table["pass"][1] == pytest.approx((2 / 6 + 1) / 2)
    assert set(table) == {"maj", "ovm", "weighted", "maj_value", "outlier_free(0.4)", "pass"}


def test_auroc_and_calibration():
    assert auroc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == 1.0
    assert auroc([0.1, 0.2, 0.9, 0.8], [True, True, False, False]) == 0.0
    assert auroc([0.5, 0.5], [True, False]) == 0.5 and auroc([0.5], [True]) is None
    bins = calibration([0.05, 0.15, 0.95, 0.97, 1.3], [False, False, True, False, True])
    assert [(b["bin"], b["count"]) for b in bins] == [(0, 1), (1, 1), (9, 3)]
    assert bins[-1]["accuracy"] == pytest.approx(2 / 3)
