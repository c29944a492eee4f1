"""Read a stage's solution rows (:class:`mathforge.rows.SolutionRow`) into examples to tokenize.

Each example keeps its row's ``format``, so the interpreter output of a MARIO-format row is masked as
MARIO's ``Output:`` lines and a ToRA row's as its ```` ```output ```` blocks, whatever else the stage holds.
A stage that declares ``solution_format: tora`` (or ``mario``) requires every code-nested row to be written
that way: a row that disagrees is an error naming its file, line and field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mathforge.io import DataError
from mathforge.rows import SolutionRow, read_rows
from mathforge.solution import build_prompt, system_for


@dataclass(frozen=True)
class Example:
    prompt: str
    completion: str
    format: str  # tora | mario: how the completion writes code and output (what masking removes)
    mode: str  # cot | code


def load_rows(paths: list[str | Path], limit: int | None = None, stage_format: str = "auto", stage: str = "sft",
              row_type: type[SolutionRow] = SolutionRow) -> list[SolutionRow]:  # fmt: skip
    """The stage's rows, checked against its declared format; a :class:`DataError` when there are none."""
    rows: list[SolutionRow] = []
    for path in paths:
        for line, row in read_rows(path, row_type):
            if stage_format != "auto" and row.mode == "code" and row.format != stage_format:
                raise DataError(f"the row is written in {row.format!r} format but stage {stage!r} declares "
                                f"solution_format {stage_format!r}", path, line, "format")  # fmt: skip
            rows.append(row)
            if limit is not None and len(rows) >= limit:
                return rows
    if not rows:
        raise DataError("no training rows", paths[0] if paths else None)
    return rows


def to_examples(
    rows: list[SolutionRow], prompt_format: str = "plain", tokenizer=None, system_prompt: str = "auto"
) -> list[Example]:
    """Prompt (the row's own, or its question through ``build_prompt`` with the system prompt its mode gets,
    as evaluation asks it) and completion for each row."""
    return [
        Example(_prompt(r, prompt_format, tokenizer, system_prompt), r.solution, r.format, r.mode)
        for r in rows
    ]


def _prompt(row: SolutionRow, prompt_format: str, tokenizer, system_prompt: str) -> str:
    if row.prompt is not None:
        return row.prompt
    system = system_for(system_prompt, "tir" if row.mode == "code" else "cot", prompt_format)
    return build_prompt(row.question, prompt_format, tokenizer, system=system)


def load_pairs(
    paths, prompt_format: str = "plain", limit: int | None = None, tokenizer=None
) -> list[tuple[str, str]]:
    """(prompt, completion) pairs of rows (a convenience for looking at a stage's data)."""
    return [(e.prompt, e.completion) for e in to_examples(load_rows(paths, limit), prompt_format, tokenizer)]
