"""Whole-dataset checks on the real data folder (MATHFORGE_DATA_DIR; skipped with a reason when unset)."""

from __future__ import annotations

import json
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor

import pytest

from mathforge.answer.equiv import parse_answer, parse_number
from mathforge.data import load_problems

# MATH train rows labelled "Level ?" upstream
UNKNOWN_LEVEL = {"math/train/2773", "math/train/2832"}
# MATH train rows whose solution ends in an empty \boxed{} (an upstream defect of the dataset itself)
EMPTY_BOXED = {"math/train/5341", "math/train/5343"}

COUNTS = {
    ("gsm8k", "train"): 7473,
    ("gsm8k", "test"): 1319,
    ("math", "train"): 7500,
    ("math", "test"): 5000,
    ("math500", "test"): 500,
    ("svamp", "test"): 1000,
    ("asdiv", "test"): 2215,
    ("gsm_hard", "test"): 1319,
}


@pytest.mark.parametrize("name,split", list(COUNTS))
def test_counts_and_unique_ids(data_dir, name, split):
    problems = load_problems(name, split=split, data_dir=data_dir)
    assert len(problems) == COUNTS[(name, split)]
    assert len({p.id for p in problems}) == len(problems)
    assert all(p.question.strip() and p.dataset == name and p.split == split for p in problems)


@pytest.mark.parametrize("split", ["train", "test"])
def test_every_gsm8k_gold_is_an_exact_number(data_dir, split):
    problems = load_problems("gsm8k", split=split, data_dir=data_dir)
    bad = [p.gold for p in problems if parse_number(p.gold) is None or "," in p.gold]
    assert bad == []


@pytest.mark.parametrize("name,split", [("math", "train"), ("math", "test"), ("math500", "test")])
def test_math_meta_has_subject_and_integer_level(data_dir, name, split):
    problems = load_problems(name, split=split, data_dir=data_dir)
    assert {p.id for p in problems if p.meta["level"] not in (1, 2, 3, 4, 5)} == (
        UNKNOWN_LEVEL if split == "train" else set()
    )
    assert len({p.meta["subject"] for p in problems}) == 7


def test_every_math_gold_parses(data_dir):
    problems = [
        p for split in ("train", "test") for p in load_problems("math", split=split, data_dir=data_dir)
    ]
    problems += load_problems("math500", data_dir=data_dir)
    assert {p.id for p in problems if not p.gold} == EMPTY_BOXED
    golds = sorted({p.gold for p in problems if p.gold})
    symbolic = [g for g in golds if parse_number(g) is None]  # the rest parsed exactly just now
    # math-verify (LaTeX -> sympy) is the slow part: two processes
    with ProcessPoolExecutor(2, mp_context=mp.get_context("forkserver")) as pool:
        parsed = list(pool.map(parse_answer, symbolic, chunksize=64))
    assert [g for g, value in zip(symbolic, parsed, strict=True) if value is None] == []


def test_math500_answer_equals_boxed_answer_of_solution(data_dir):
    from mathforge.answer import Grader, last_boxed

    problems = load_problems("math500", data_dir=data_dir)
    with Grader(workers=2, timeout=30) as grader:
        results = grader.grade_many([(last_boxed(p.solution), p.gold) for p in problems])
    assert [p.id for p, r in zip(problems, results, strict=True) if not r.correct] == []


def test_grading_gsm8k_test_golds_and_solutions_is_100_percent(data_dir, tmp_path):
    from mathforge.evaluate import GradeConfig
    from mathforge.evaluate.grade import run as grade

    problems = load_problems("gsm8k", data_dir=data_dir)
    src = tmp_path / "preds.jsonl"
    with src.open("w") as fh:
        for p in problems:
            fh.write(json.dumps({"id": p.id, "pred": p.gold}) + "\n")
            fh.write(json.dumps({"id": p.id, "output": p.solution}) + "\n")  # answer extracted from "#### N"
    metrics = grade(GradeConfig(file=str(src), out=str(tmp_path / "out"), dataset="gsm8k", data_dir=str(data_dir),
                                grade_workers=2))  # fmt: skip
    assert (metrics["samples"], metrics["accuracy"], metrics["grading"]["timeouts"]) == (
        2 * len(problems),
        1.0,
        0,
    )
