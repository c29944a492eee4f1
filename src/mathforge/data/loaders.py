"""Loaders by dataset name: one row converter per dataset, plus where its files live.

Sources, in order: a local ``.json``/``.jsonl`` path; the data folder (``--data-dir`` or
``MATHFORGE_DATA_DIR``) laid out as ``NAME/SPLIT.jsonl`` (MATH-500 is ``math/test500.jsonl``); a hub dataset
id through ``datasets.load_dataset`` when online.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from mathforge.data.problem import Problem
from mathforge.io import DataError, read_json_or_jsonl, require
from mathforge.rows import canonical_number
from mathforge.solution.boxed import last_boxed

Converter = Callable[[dict, str, int, str], Problem]  # (row, path, line, split) -> Problem


def _level(value, path, line) -> int | None:
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*(?:Level\s*)?(\d+)\s*", str(value))
    return int(m.group(1)) if m else None  # MATH train has two "Level ?" rows


def gsm8k_row(row: dict, path, line: int, split: str) -> Problem:
    question = require(row, "question", path, line)
    solution = require(row, "answer", path, line)
    if "####" not in solution:
        raise DataError("no '####' final-answer marker in the solution", path, line, "answer")
    gold = solution.rsplit("####", 1)[1].strip().replace(",", "")
    if not gold:
        raise DataError("empty final answer after '####'", path, line, "answer")
    return Problem(f"gsm8k/{split}/{line - 1}", question, gold, solution, "gsm8k", split)


def math_row(row: dict, path, line: int, split: str, dataset: str = "math") -> Problem:
    question = require(row, "problem", path, line)
    solution = require(row, "solution", path, line)
    if row.get("answer") is not None:
        gold = require(row, "answer", path, line)
    else:
        gold = last_boxed(solution)
        if gold is None:
            raise DataError(
                "solution has no \\boxed{} answer and there is no 'answer' field", path, line, "solution"
            )
    subject = row.get("subject") or row.get("type")
    level = _level(row["level"], path, line) if row.get("level") is not None else None
    if row.get("unique_id"):
        pid = str(row["unique_id"])
    else:
        pid = f"{dataset}/{split}/{row.get('idx', line - 1)}"
    return Problem(pid, question, gold, solution, dataset, split, {"subject": subject, "level": level})


def math500_row(row: dict, path, line: int, split: str) -> Problem:
    require(row, "answer", path, line)
    return math_row(row, path, line, split, dataset="math500")


def svamp_row(row: dict, path, line: int, split: str) -> Problem:
    body = require(row, "Body", path, line)
    question = require(row, "Question", path, line)
    answer = require(row, "Answer", path, line, (int, float))
    text = f"{body.strip()} {question.strip()}".strip()
    pid = str(row.get("ID") or f"svamp/{split}/{line - 1}")
    meta = {k: row[k] for k in ("Type", "Equation") if k in row}
    return Problem(pid, text, canonical_number(answer), row.get("Equation"), "svamp", split, meta)


def asdiv_row(row: dict, path, line: int, split: str) -> Problem:
    body = require(row, "body", path, line)
    question = require(row, "question", path, line)
    answer = require(row, "answer", path, line)
    gold = re.sub(r"\s*\([^()]*\)\s*$", "", answer).strip()  # "9 (apples)" -> "9"
    if not gold:
        raise DataError(f"no answer left after removing the unit from {answer!r}", path, line, "answer")
    pid = f"asdiv/{split}/{row.get('idx', line - 1)}"
    meta = {k: row[k] for k in ("solution_type",) if k in row}
    return Problem(pid, f"{body.strip()} {question.strip()}", gold, row.get("formula"), "asdiv", split, meta)


def gsm_hard_row(row: dict, path, line: int, split: str) -> Problem:
    question = require(row, "input", path, line)
    target = require(row, "target", path, line, (int, float))
    pid = f"gsm_hard/{split}/{row.get('idx', line - 1)}"
    return Problem(pid, question, canonical_number(target), row.get("code"), "gsm_hard", split)


def generic_row(row: dict, path, line: int, split: str) -> Problem:
    """Already-converted rows (``Problem.to_dict()``) or simple {question|problem, gold|answer} files."""
    question = row.get("question", row.get("problem"))
    if question is None:
        raise DataError("missing required field (question or problem)", path, line, "question")
    gold = row.get("gold", row.get("answer"))
    if gold is None:
        raise DataError("missing required field (gold or answer)", path, line, "gold")
    if isinstance(gold, (int, float)) and not isinstance(gold, bool):
        gold = canonical_number(gold)
    pid = str(row.get("id", f"{Path(str(path)).stem}/{line - 1}"))
    dataset = row.get("dataset") or Path(str(path)).parent.name
    return Problem(
        pid,
        str(question),
        str(gold),
        row.get("solution"),
        dataset,
        row.get("split", split),
        dict(row.get("meta") or {}),
    )


# name -> (converter, {split: file under the data folder}, hub id or None)
DATASETS: dict[str, tuple[Converter, dict[str, str], tuple | None]] = {
    "gsm8k": (
        gsm8k_row,
        {"train": "gsm8k/train.jsonl", "test": "gsm8k/test.jsonl"},
        ("openai/gsm8k", "main"),
    ),
    "math": (math_row, {"train": "math/train.jsonl", "test": "math/test.jsonl"}, None),
    "math500": (math500_row, {"test": "math/test500.jsonl"}, ("HuggingFaceH4/MATH-500", None)),
    "svamp": (svamp_row, {"test": "svamp/test.jsonl"}, None),
    "asdiv": (asdiv_row, {"test": "asdiv/test.jsonl"}, None),
    "gsm_hard": (gsm_hard_row, {"test": "gsm_hard/test.jsonl"}, ("reasoning-machines/gsm-hard", None)),
}
_ALIASES = {
    "gsm-hard": "gsm_hard",
    "gsmhard": "gsm_hard",
    "math-500": "math500",
    "math_500": "math500",
    "hendrycks_math": "math",
}


def canonical_name(name: str) -> str | None:
    key = name.lower()
    key = _ALIASES.get(key, key)
    return key if key in DATASETS else None


def sniff_converter(row: dict) -> Converter:
    """Pick the converter for a local file from its first row's fields."""
    if "Body" in row and "Question" in row:
        return svamp_row
    if "body" in row and "question" in row:
        return asdiv_row
    if "input" in row and "target" in row:
        return gsm_hard_row
    if "problem" in row and "solution" in row:
        return math500_row if "answer" in row and "unique_id" in row else math_row
    if "question" in row and isinstance(row.get("answer"), str) and "####" in row["answer"]:
        return gsm8k_row
    return generic_row


def data_dir(option: str | os.PathLike | None = None) -> Path | None:
    """The data folder: ``option`` if given, else ``$MATHFORGE_DATA_DIR``, else None."""
    value = option if option is not None else os.environ.get("MATHFORGE_DATA_DIR")
    return Path(value).expanduser() if value else None


def load_problems(
    name_or_path: str | os.PathLike,
    split: str = "test",
    data_dir: str | os.PathLike | None = None,
    limit: int | None = None,
    *,
    fmt: str | None = None,
) -> list[Problem]:
    """Problems of a dataset by name (``gsm8k``, ``math``, ``math500``, ``svamp``, ``asdiv``, ``gsm_hard``),
    a local JSON/JSONL path, or a hub dataset id (online only).

    ``fmt`` forces the row format of a local file (a dataset name); by default it is guessed from the fields.
    """
    folder = _resolve_dir(data_dir)
    target = str(name_or_path)
    path = Path(target).expanduser()
    if path.suffix in (".json", ".jsonl") or path.is_file():
        converter = DATASETS[_known(fmt)][0] if fmt else None
        return _load_file(path, split, limit, converter, dataset=canonical_name(fmt) if fmt else None)

    name = canonical_name(target)
    if name is not None:
        converter, files, hub = DATASETS[name]
        if split not in files:
            raise DataError(
                f"dataset {name!r} has no split {split!r} (it has: {', '.join(files)})", field="split"
            )
        if folder is not None:
            return _load_file(folder / files[split], split, limit, converter, dataset=name)
        if hub is None:
            raise DataError(f"no data folder for dataset {name!r}: pass --data-dir or set MATHFORGE_DATA_DIR")
        return _load_hub(hub[0], hub[1], split, limit, converter, name)
    if "/" in target and not path.exists():
        return _load_hub(target, None, split, limit, None, target)
    known = ", ".join(DATASETS)
    raise DataError(f"unknown dataset {target!r}: not a file, not one of {known}, not a hub id (owner/name)")


def _known(fmt: str) -> str:
    name = canonical_name(fmt)
    if name is None:
        raise DataError(f"unknown format {fmt!r}; use one of {', '.join(DATASETS)}", field="fmt")
    return name


def _resolve_dir(option) -> Path | None:
    folder = data_dir(option)
    if folder is not None and not folder.is_dir():
        raise DataError("data folder does not exist", folder)
    return folder


def _load_file(
    path: Path, split: str, limit: int | None, converter: Converter | None, dataset: str | None = None
) -> list[Problem]:
    problems: list[Problem] = []
    for line, row in read_json_or_jsonl(path):
        if converter is None:
            converter = sniff_converter(row)
        problem = converter(row, path, line, split)
        if dataset is not None and converter is not generic_row:
            problem.dataset = dataset
        problems.append(problem)
        if limit is not None and len(problems) >= limit:
            break
    return problems


def _offline() -> bool:
    return any(
        os.environ.get(v, "").lower() in ("1", "true", "yes")
        for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def _load_hub(
    hub_id: str, config: str | None, split: str, limit: int | None, converter: Converter | None, dataset: str
) -> list[Problem]:
    if _offline():
        raise DataError(
            f"{hub_id!r} would come from the Hugging Face hub, but HF_HUB_OFFLINE/HF_DATASETS_OFFLINE "
            "is set: pass a local file or --data-dir (MATHFORGE_DATA_DIR) instead"
        )
    import datasets

    try:
        rows: Iterable[dict] = datasets.load_dataset(hub_id, config, split=split)
    except Exception as exc:  # network, unknown id, missing split: say which and why
        raise DataError(f"could not load hub dataset {hub_id!r} split {split!r}: {exc}") from exc
    problems = []
    for i, row in enumerate(rows, start=1):
        if converter is None:
            converter = sniff_converter(row)
        problem = converter(dict(row), f"hub:{hub_id}", i, split)
        problem.dataset = dataset
        problems.append(problem)
        if limit is not None and len(problems) >= limit:
            break
    return problems
