"""Run the LLM-free GSM8K stages over many problems: convert (sandbox-verified), audit, perturb."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from mathforge.augment.convert import Converted, finish, numeric_equiv, prepare
from mathforge.io import DataError
from mathforge.rows import SolutionRow


def load_gsm8k(
    source: str | Path | None = None,
    split: str = "train",
    limit: int | None = None,
    data_dir: str | Path | None = None,
) -> list:
    """GSM8K problems (``mathforge.data.Problem``; ``solution`` holds the annotated chain).

    ``source``: a JSONL file in GSM8K's format, or a dataset name (None: ``gsm8k``) resolved in the data folder.
    """
    from mathforge.data import load_problems

    source = source or "gsm8k"
    is_file = Path(str(source)).suffix in (".json", ".jsonl") or Path(str(source)).is_file()
    problems = load_problems(
        source, split=split, data_dir=data_dir, limit=limit, fmt="gsm8k" if is_file else None
    )
    if not problems:
        raise DataError("no problems: the file or split is empty", source, field="dataset")
    for p in problems:
        if not p.solution or "####" not in p.solution:
            raise DataError("GSM8K problem without an annotated solution", field="answer")
    return problems


def convert_many(
    rows: Iterable,
    sandbox,
    *,
    chunk: int = 256,
    equiv: Callable[[str, str], bool] = numeric_equiv,
    advance: Callable[[int], None] | None = None,
) -> Iterator[tuple[object, Converted]]:
    """Convert rows; programs run in the sandbox ``chunk`` at a time (``run_many`` spreads them)."""
    batch: list[tuple[object, object]] = []

    def flush():
        results = sandbox.run_many([prog.source() for _, prog in batch])
        for (row, prog), res in zip(batch, results, strict=True):
            yield row, finish(row.id, prog, res.status, res.stdout, equiv)
        if advance:
            advance(len(batch))
        batch.clear()

    for row in rows:
        program, rejected = prepare(row.id, row.solution)
        if rejected is not None:
            if advance:
                advance(1)
            yield row, rejected
            continue
        batch.append((row, program))
        if len(batch) >= chunk:
            yield from flush()
    if batch:
        yield from flush()


def conversion_row(row, conv: Converted) -> SolutionRow:
    """A stage-2 training row with provenance."""
    return SolutionRow(
        id=f"{row.id}/code",
        source_id=row.id,
        method="gsm8k_chain_to_code",
        question=row.question,
        solution=conv.solution,
        gold=row.gold,
        mode="code",
        format="tora",
    )


def summarize(results: Iterable[Converted]) -> dict:
    counts = Counter("converted" if c.ok else c.reason for c in results)
    total = sum(counts.values())
    converted = counts.pop("converted", 0)
    return {
        "total": total,
        "converted": converted,
        "rate": round(converted / total, 4) if total else 0.0,
        "rejected": dict(counts.most_common()),
    }
