"""Self-consistency: equivalence classes through the real grader, maj@k, unbiased pass@k."""

from __future__ import annotations

from itertools import combinations
from math import comb

import pytest

from mathforge.answer import answer_classes, majority_index
from mathforge.evaluate.sampling import pass_at_k, sample_metrics


def brute_pass_at_k(n, c, k):
    # exact: fraction of k-subsets of n samples that contain at least one of the c correct ones
    subsets = list(combinations(range(n), k))
    return sum(any(i < c for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize(
    "n,c,k", [(5, 0, 1), (5, 1, 1), (5, 2, 3), (6, 3, 2), (7, 7, 4), (8, 1, 8), (10, 4, 5)]
)
def test_pass_at_k_matches_brute_force(n, c, k):
    assert pass_at_k(n, c, k) == pytest.approx(brute_pass_at_k(n, c, k))
    assert pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k))


def test_pass_at_k_rejects_bad_arguments():
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)


@pytest.fixture(scope="module")
def equiv_many():
    from mathforge.answer import Grader

    with Grader(workers=1, timeout=10) as grader:
        yield lambda pairs: [r.correct for r in grader.grade_many(pairs)]


def test_classes_group_equivalent_answers_not_equal_strings(equiv_many):
    answers = ["0.5", "\\frac{1}{2}", "2", None, "1/2", "2.0", "7"]
    classes = answer_classes(answers, equiv_many)
    assert classes[0] == classes[1] == classes[4]
    assert classes[2] == classes[5]
    assert len({classes[0], classes[2], classes[6]}) == 3
    assert classes[3] == -1


def test_identical_strings_need_no_grading():
    calls = []

    def never(pairs):
        calls.append(pairs)
        return [False] * len(pairs)

    assert answer_classes(["3", "3", None, "3"], never) == [0, 0, -1, 0]
    assert calls == []


def test_majority_vote_over_classes(equiv_many):
    # strings differ, but 1/2 is the most common answer once grouped
    answers = ["3", "0.5", "\\frac12", "3", "1/2", None, None, None]
    classes = answer_classes(answers, equiv_many)
    assert majority_index(classes) == 1
    assert majority_index(classes, k=1) == 0
    assert majority_index(classes, k=2) == 0  # tie 1-1: the class seen first wins
    assert majority_index([-1, -1]) is None


def test_sample_metrics():
    # problem A: 1 of 4 correct, majority wrong; problem B: 3 of 4 correct, majority right
    problems = [([False, True, False, False], [0, 1, 0, 0]), ([True, False, True, True], [0, 1, 0, 0])]
    m = sample_metrics(problems)
    assert set(m) == {"maj@1", "pass@1", "maj@2", "pass@2", "maj@4", "pass@4"}
    assert m["pass@1"] == pytest.approx((1 / 4 + 3 / 4) / 2)
    assert m["pass@4"] == 1.0
    assert m["maj@4"] == 0.5
    assert m["maj@1"] == 0.5
