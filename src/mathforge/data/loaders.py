"""Loaders by dataset name: one row converter per dataset, plus where its files live.

Sources, in order: a local ``.json``/``.jsonl`` path; the data folder (``--data-dir`` or
``MATHFORGE_DATA_DIR``) laid out as ``NAME/SPLIT.jsonl`` (MATH-500 is ``math/test500.jsonl``); a hub dataset
id through ``datasets.load_dataset`` when online.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from mathforge.data.benchmarks import (
    MAWPS_SUBSETS,
    aime24_row,
    aime25_row,
    amc23_row,
    college_math_row,
    gaokao2023en_row,
    mawps_row,
    mawps_subset,
    minerva_math_row,
    olympiadbench_row,
)
from mathforge.data.problem import Problem
from mathforge.data.report import LoadReport, SkipRecord
from mathforge.io import DataError, file_sha256, read_json_or_jsonl, require
from mathforge.rows import canonical_number
from mathforge.solution.boxed import last_boxed

# (row, path, line, split) -> Problem; None = a row of another subset; raises SkipRecord for a broken record
Converter = Callable[[dict, str, int, str], Problem | None]


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
    # ToRA reports MAWPS per subset: each subset reads the joined file and keeps its own rows
    "mawps": (mawps_row, {"test": "mawps/test.jsonl"}, None),
    **{f"mawps_{s}": (mawps_subset(s), {"test": "mawps/test.jsonl"}, None) for s in MAWPS_SUBSETS},
    "minerva_math": (minerva_math_row, {"test": "minerva_math/test.jsonl"}, None),
    "gaokao2023en": (gaokao2023en_row, {"test": "gaokao2023en/test.jsonl"}, None),
    "olympiadbench": (olympiadbench_row, {"test": "olympiadbench/test.jsonl"}, None),
    "aime24": (aime24_row, {"test": "aime24/test.jsonl"}, None),
    "aime25": (aime25_row, {"test": "aime25/test.jsonl"}, None),
    "amc23": (amc23_row, {"test": "amc23/test.jsonl"}, None),
    "college_math": (college_math_row, {"test": "college_math/test.jsonl"}, None),
}
_ALIASES = {
    "gsm-hard": "gsm_hard",
    "gsmhard": "gsm_hard",
    "math-500": "math500",
    "math_500": "math500",
    "hendrycks_math": "math",
    **{f"mawps/{s}": f"mawps_{s}" for s in MAWPS_SUBSETS},
    **{f"mawps-{s}": f"mawps_{s}" for s in MAWPS_SUBSETS},
    "ocw": "minerva_math",
    "ocwcourses": "minerva_math",
    "minerva-math": "minerva_math",
    "gaokao2023": "gaokao2023en",
    "gaokao-2023-me": "gaokao2023en",
    "gaokao2023_en": "gaokao2023en",
    "olympiad_bench": "olympiadbench",
    "olympiad-bench": "olympiadbench",
    "aime2024": "aime24",
    "aime_2024": "aime24",
    "aime2025": "aime25",
    "aime_2025": "aime25",
    "amc2023": "amc23",
    "amc_2023": "amc23",
    "college-math": "college_math",
    "collegemath": "college_math",
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
        # MAWPS has input/target too (README "Note for loaders"); its `type` names the subset
        return mawps_row if row.get("type") in MAWPS_SUBSETS else gsm_hard_row
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
    report: LoadReport | None = None,
) -> list[Problem]:
    """Problems of a dataset by name (``gsm8k``, ``math``, ``math500``, ``svamp``, ``asdiv``, ``gsm_hard``,
    ``mawps`` and ``mawps_<subset>``, ``minerva_math``, ``gaokao2023en``, ``olympiadbench``, ``aime24``,
    ``aime25``, ``amc23``, ``college_math``), a local JSON/JSONL path, or a hub dataset id (online only).

    ``fmt`` forces the row format of a local file (a dataset name); by default it is guessed from the fields.
    ``report``, when given, is filled with what the load kept, skipped (and why), repaired and normalized.
    """
    report = report if report is not None else LoadReport()
    report.split = split
    folder = _resolve_dir(data_dir)
    target = str(name_or_path)
    path = Path(target).expanduser()
    if path.suffix in (".json", ".jsonl") or path.is_file():
        converter = DATASETS[_known(fmt)][0] if fmt else None
        report.dataset = canonical_name(fmt) if fmt else path.stem
        return _load_file(path, split, limit, converter, canonical_name(fmt) if fmt else None, report)

    name = canonical_name(target)
    if name is not None:
        converter, files, hub = DATASETS[name]
        report.dataset = name
        if split not in files:
            raise DataError(
                f"dataset {name!r} has no split {split!r} (it has: {', '.join(files)})", field="split"
            )
        if folder is not None:
            return _load_file(folder / files[split], split, limit, converter, name, report)
        if hub is None:
            raise DataError(f"no data folder for dataset {name!r}: pass --data-dir or set MATHFORGE_DATA_DIR")
        return _load_hub(hub[0], hub[1], split, limit, converter, name, report)
    if "/" in target and not path.exists():
        report.dataset = target
        return _load_hub(target, None, split, limit, None, target, report)
    known = ", ".join(DATASETS)
    raise DataError(f"unknown dataset {target!r}: not a file, not one of {known}, not a hub id (owner/name)")


def load_dataset_report(
    name: str | os.PathLike, split: str = "test", data_dir: str | os.PathLike | None = None
) -> LoadReport:
    """Load ``name`` fully and return only the :class:`LoadReport` (counts, reasons, file sha256)."""
    report = LoadReport()
    load_problems(name, split=split, data_dir=data_dir, report=report)
    return report


def dataset_file(name: str, split: str = "test", data_dir: str | os.PathLike | None = None) -> Path:
    """The file ``load_problems(name, split, data_dir)`` reads (a local path is returned as is)."""
    path = Path(str(name)).expanduser()
    if path.suffix in (".json", ".jsonl") or path.is_file():
        return path
    canonical = canonical_name(str(name))
    if canonical is None:
        raise DataError(f"unknown dataset {name!r}; use one of {', '.join(DATASETS)}")
    files = DATASETS[canonical][1]
    if split not in files:
        raise DataError(f"dataset {canonical!r} has no split {split!r} (it has: {', '.join(files)})")
    folder = _resolve_dir(data_dir)
    if folder is None:
        raise DataError(
            f"no data folder for dataset {canonical!r}: pass --data-dir or set MATHFORGE_DATA_DIR"
        )
    return folder / files[split]


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


def _load_rows(
    rows: Iterable[tuple[int, dict]],
    path,
    split: str,
    limit: int | None,
    converter: Converter | None,
    dataset: str | None,
    report: LoadReport,
) -> list[Problem]:
    problems: list[Problem] = []
    seen_questions: set[str] = set()
    notes: Counter = Counter()
    for line, row in rows:
        report.records += 1
        if converter is None:
            converter = sniff_converter(row)
        try:
            problem = converter(row, path, line, split)
        except SkipRecord as skip:
            report.skip(skip.reason, f"line {line}" + (f" ({row.get('id')})" if row.get("id") else ""))
            continue
        if problem is None:
            report.filtered += 1
            continue
        if dataset is not None and converter is not generic_row:
            problem.dataset = dataset
        report.tally(problem.meta)
        notes["duplicate_question"] += problem.question in seen_questions
        notes["long_gold"] += bool(problem.meta.get("long_gold"))
        seen_questions.add(problem.question)
        problems.append(problem)
        if limit is not None and len(problems) >= limit:
            break
    report.kept += len(problems)
    report.note(notes)
    return problems


def _load_file(
    path: Path,
    split: str,
    limit: int | None,
    converter: Converter | None,
    dataset: str | None = None,
    report: LoadReport | None = None,
) -> list[Problem]:
    report = report if report is not None else LoadReport()
    report.path = str(path)
    # a missing file is reported by read_json_or_jsonl (DataError "file not found") once iteration starts
    report.sha256 = file_sha256(path) if Path(path).is_file() else None
    rows = read_json_or_jsonl(path)
    return _load_rows(rows, path, split, limit, converter, dataset, report)


def _offline() -> bool:
    return any(
        os.environ.get(v, "").lower() in ("1", "true", "yes")
        for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def _load_hub(
    hub_id: str,
    config: str | None,
    split: str,
    limit: int | None,
    converter: Converter | None,
    dataset: str,
    report: LoadReport | None = None,
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
    report = report if report is not None else LoadReport()
    report.path = f"hub:{hub_id}"
    numbered = ((i, dict(row)) for i, row in enumerate(rows, start=1))
    return _load_rows(numbered, f"hub:{hub_id}", split, limit, converter, dataset, report)
