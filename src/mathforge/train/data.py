"""Read SFT rows from JSONL/JSON and turn them into (prompt, completion) pairs."""

from __future__ import annotations

from pathlib import Path

from mathforge.io import DataError, read_json_or_jsonl, require
from mathforge.solution import build_prompt


def load_pairs(
    paths: list[str | Path], prompt_format: str = "plain", limit: int | None = None, tokenizer=None
) -> list[tuple[str, str]]:
    """Rows with ``prompt`` + ``completion`` are taken verbatim; rows with ``question`` + ``solution``
    are rendered through :func:`mathforge.solution.build_prompt`. Anything else is a :class:`DataError`."""
    pairs: list[tuple[str, str]] = []
    for path in paths:
        for line, row in read_json_or_jsonl(path):
            if "prompt" in row:
                prompt = require(row, "prompt", path, line)
                completion = require(row, "completion", path, line)
            elif "question" in row:
                question = require(row, "question", path, line)
                completion = require(row, "solution", path, line)
                prompt = build_prompt(question, prompt_format, tokenizer=tokenizer)
            else:
                raise DataError("a row needs 'prompt'+'completion' or 'question'+'solution'", path, line)
            if not completion.strip():
                raise DataError(
                    "empty completion", path, line, "completion" if "prompt" in row else "solution"
                )
            pairs.append((prompt, completion))
            if limit is not None and len(pairs) >= limit:
                return pairs
    if not pairs:
        raise DataError("no training rows", paths[0] if paths else None)
    return pairs
