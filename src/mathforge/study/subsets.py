"""Tagged augmented rows and the nested subsets of a scaling study.

A row's tags: its augmentation type (``aug_type``, else the producer's ``method``), its seed problem (the
``source_id`` it was made from), its query (the question text: the unit MuggleMath counts) and its
response index (the how-many-th solution of that query, in file order). Subsets are nested: the queries are
put in one seeded random order, and the subset (N queries, R responses) is the first N queries with their
first R responses, so each subset contains every smaller one on both axes.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from mathforge.rows import SolutionRow


@dataclass(frozen=True)
class Tagged:
    row: SolutionRow
    aug_type: str
    seed_id: str
    query: str  # normalised question text
    response: int  # 0 for the first solution of this query in the file, 1 for the next, ...


def normalise(question: str) -> str:
    return " ".join(question.lower().split())


def tag(rows: list[SolutionRow]) -> list[Tagged]:
    """Tags from the rows' own fields; a row without a question cannot be counted as a query."""
    seen: dict[str, int] = defaultdict(int)
    out = []
    for row in rows:
        if not row.question:
            raise ValueError(f"row {row.id!r} has no question: a scaling study counts queries")
        extra = row.model_extra or {}
        aug_type = str(extra.get("aug_type") or row.method or "original")
        seed_id = str(row.source_id or row.id.split("/")[0] or normalise(row.question))
        query = normalise(row.question)
        out.append(Tagged(row, aug_type, seed_id, query, seen[query]))
        seen[query] += 1
    return out


def drop_leaks(rows: list[Tagged], eval_ids: set[str], eval_questions: set[str]) -> tuple[list[Tagged], int]:
    """Rows whose seed problem (or question) is an evaluation problem: a seed problem's variants must never
    sit on both sides of the train/test boundary."""
    kept = [t for t in rows if t.seed_id not in eval_ids and t.query not in eval_questions]
    return kept, len(rows) - len(kept)


def query_order(rows: list[Tagged], seed: int) -> list[str]:
    """Every query once, in one seeded random order (sorted first, so the file's order does not matter)."""
    queries = sorted({t.query for t in rows})
    random.Random(seed).shuffle(queries)
    return queries


def subset(rows: list[Tagged], order: list[str], n_queries: int, responses: int) -> list[Tagged]:
    """The first ``n_queries`` queries of ``order`` with their first ``responses`` responses."""
    chosen = set(order[:n_queries])
    return [t for t in rows if t.query in chosen and t.response < responses]


def log_grid(total: int, points: int, smallest: int = 1) -> list[int]:
    """``points`` sizes from ``smallest`` to ``total``, evenly spaced in log N (distinct integers)."""
    if total < 1:
        return []
    smallest = max(1, min(smallest, total))
    if points <= 1 or smallest == total:
        return [total]
    ratio = (total / smallest) ** (1 / (points - 1))
    sizes = sorted({min(total, round(smallest * ratio**i)) for i in range(points)} | {total})
    return [n for n in sizes if n >= 1]


def equal_budget(rows: list[Tagged], order: list[str], budget: int | None) -> dict[str, list[Tagged]]:
    """Per augmentation type, the first ``budget`` rows of that type in the query order (the budget is the
    smallest type's size when not given), so every type is compared on the same amount of data."""
    rank = {q: i for i, q in enumerate(order)}
    by_type: dict[str, list[Tagged]] = defaultdict(list)
    for t in sorted(rows, key=lambda t: (rank[t.query], t.response)):
        by_type[t.aug_type].append(t)
    if not by_type:
        return {}
    size = budget or min(len(v) for v in by_type.values())
    return {k: v[:size] for k, v in sorted(by_type.items()) if len(v) >= size}
