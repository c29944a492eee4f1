"""Tagging, nested subsets, the train/test boundary and the equal-budget split."""

from mathforge.rows import SolutionRow
from mathforge.study import subsets


def rows(queries=6, responses=3):
    out = []
    for q in range(queries):
        for r in range(responses):
            out.append(SolutionRow(id=f"s{q}/aug/{r}", question=f"Question {q}?", solution=f"answer \\boxed{{{r}}}",
                                   source_id=f"seed-{q % 3}", method="rephrase" if q % 2 else "perturb"))  # fmt: skip
    return out


def test_tags_come_from_the_rows_fields():
    tagged = subsets.tag(rows(2, 2) + [SolutionRow(id="x", question="Q?", solution="s", aug_type="fobar")])
    assert [(t.aug_type, t.seed_id, t.response) for t in tagged] == [
        ("perturb", "seed-0", 0), ("perturb", "seed-0", 1), ("rephrase", "seed-1", 0), ("rephrase", "seed-1", 1),
        ("fobar", "x", 0),
    ]  # fmt: skip


def test_subsets_are_nested_on_both_axes_and_fixed_by_the_seed():
    tagged = subsets.tag(rows())
    order = subsets.query_order(tagged, seed=7)
    assert order == subsets.query_order(list(reversed(tagged)), seed=7)  # file order does not matter
    assert order != subsets.query_order(tagged, seed=8)
    ids = lambda s: {t.row.id for t in s}  # noqa: E731
    for n in range(1, 6):
        for r in range(1, 3):
            small = ids(subsets.subset(tagged, order, n, r))
            assert small <= ids(subsets.subset(tagged, order, n + 1, r))
            assert small <= ids(subsets.subset(tagged, order, n, r + 1))
            assert len(small) == n * r


def test_a_seed_problem_never_straddles_the_boundary():
    tagged = subsets.tag(rows())
    kept, dropped = subsets.drop_leaks(tagged, eval_ids={"seed-1"}, eval_questions={"question 0?"})
    assert dropped == 3 * 2 + 3  # seed-1's two queries (1 and 4) and question 0, three responses each
    assert all(t.seed_id != "seed-1" and t.query != "question 0?" for t in kept)


def test_log_grid_is_log_spaced_distinct_and_ends_at_the_total():
    assert subsets.log_grid(1000, 4, 10) == [10, 46, 215, 1000]
    assert subsets.log_grid(5, 8, 1) == [1, 2, 3, 4, 5]
    assert subsets.log_grid(7, 1) == [7]
    assert subsets.log_grid(0, 4) == []


def test_equal_budget_gives_every_type_the_same_amount():
    tagged = subsets.tag(
        rows(6, 3)[:-2]
    )  # the last query (rephrase) keeps one response: 7 rephrase, 9 perturb
    budget = subsets.equal_budget(tagged, subsets.query_order(tagged, 0), None)
    assert {k: len(v) for k, v in budget.items()} == {"perturb": 7, "rephrase": 7}
    assert {
        k: len(v) for k, v in subsets.equal_budget(tagged, subsets.query_order(tagged, 0), 9).items()
    } == {"perturb": 9}  # a type with fewer rows than the budget is left out, never padded
