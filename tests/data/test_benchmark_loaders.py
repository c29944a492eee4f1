"""Loaders of the out-of-domain benchmarks on hand-written mini files (tests/fixtures/data_mini): no data
folder needed. Each file holds the kinds of broken or unusual records the real file has."""

from __future__ import annotations

import json

import pytest

from mathforge.answer import GradeOptions, is_equiv
from mathforge.data import (
    LoadReport,
    Problem,
    dataset_file,
    file_sha256,
    load_dataset_report,
    load_problems,
)
from mathforge.data.golds import clean_gold, strip_math_delimiters
from mathforge.io import DataError

from .test_loaders import MINI, _write


def _load(name, **kw):
    report = LoadReport()
    return load_problems(name, data_dir=MINI, report=report, **kw), report


def test_mawps_golds_subsets_and_the_documented_correction():
    problems, report = _load("mawps")
    assert [p.gold for p in problems] == ["43", "6", "\\frac{2}{3}", "43", "16", "14", "6"]
    assert [p.meta["subject"] for p in problems] == [
        "singleeq", "singleeq", "singleop", "singleop", "addsub", "multiarith", "singleop"
    ]  # fmt: skip
    fixed = problems[-1]
    assert fixed.id == "mawps/test/1005" and fixed.meta["raw_gold"] == "30"
    assert fixed.meta["gold_correction"]["from"] == "30" and fixed.meta["repaired"] == [
        "wrong_gold_corrected"
    ]
    assert problems[2].meta["raw_gold"] == "0.6666666667"
    assert (report.records, report.kept, report.skipped) == (7, 7, {})
    assert report.repaired == {"wrong_gold_corrected": 1}
    assert report.normalized == {"repeating_decimal": 1}
    assert report.notes == {"duplicate_question": 1}


@pytest.mark.parametrize(
    "name,ids",
    [
        ("mawps_singleeq", ["mawps/test/0", "mawps/test/1"]),
        ("mawps/singleop", ["mawps/test/2", "mawps/test/3", "mawps/test/1005"]),
        ("mawps-addsub", ["mawps/test/4"]),
        ("mawps_multiarith", ["mawps/test/5"]),
    ],
)
def test_mawps_subsets_keep_their_rows_and_count_the_rest_as_filtered(name, ids):
    problems, report = _load(name)
    assert [p.id for p in problems] == ids
    assert all(p.dataset == name.replace("/", "_").replace("-", "_") for p in problems)
    assert (report.kept, report.filtered, report.skipped) == (len(ids), 7 - len(ids), {})


def test_a_mawps_file_is_not_taken_for_gsm_hard():
    """Both have input/target; MAWPS's `type` names the subset (README "Note for loaders")."""
    problems = load_problems(MINI / "mawps" / "test.jsonl")
    assert problems[0].meta["subject"] == "singleeq" and problems[2].gold == "\\frac{2}{3}"
    assert load_problems(MINI / "gsm_hard" / "test.jsonl")[0].dataset == "gsm_hard"


def test_unknown_mawps_subset_names_file_line_field(tmp_path):
    path = _write(tmp_path, [{"input": "q", "target": 1.0, "type": "singlexx", "idx": 0}])
    with pytest.raises(DataError) as err:
        load_problems(path, fmt="mawps")
    assert (err.value.line, err.value.field) == (1, "type")


def test_gaokao_skips_empty_golds_repairs_junk_and_corrects_the_wrong_gold():
    problems, report = _load("gaokao2023en")
    assert [p.gold for p in problems] == ["\\{x|-2\\leq x < 1\\}", "145", "901", "C", "5 or 9"]
    assert report.skipped == {"empty_gold": 1}
    assert report.skipped_ids == {"empty_gold": ["line 3 (HMMT2023General_9)"]}
    assert report.repaired == {"trailing_junk": 1, "wrong_gold_corrected": 1}
    assert report.normalized == {"math_delimiters": 2}
    by_gold = {p.gold: p for p in problems}
    assert by_gold["145"].meta["raw_gold"] == "$145$solution:"
    assert by_gold["901"].meta["gold_correction"] == {
        "from": "$902$",
        "to": "901",
        "why": by_gold["901"].meta["gold_correction"]["why"],
    }
    assert by_gold["C"].meta["choice"] is True and by_gold["C"].meta["subject"] == "SAT"
    assert GradeOptions.from_meta(by_gold["5 or 9"].meta).multi_answer
    assert problems[0].meta["subject"] == "Gaokao"


def test_a_wrong_gold_is_corrected_only_when_the_raw_value_is_the_known_one(tmp_path):
    row = {"source": "s", "question": "q", "id": "2023AMC12B_7", "lang": "en", "answer": "$903$"}
    (p,) = load_problems(_write(tmp_path, [row]), fmt="gaokao2023en")
    assert p.gold == "903" and "repaired" not in p.meta  # a changed upstream file is not "fixed" blindly


def test_olympiadbench_grading_options_units_and_solutions():
    problems, report = _load("olympiadbench")
    by_id = {p.id: p for p in problems}
    assert by_id["olympiadbench/1700"].gold == "69,84"
    assert GradeOptions.from_meta(by_id["olympiadbench/1700"].meta) == GradeOptions(multi_answer=True)
    assert GradeOptions.from_meta(by_id["olympiadbench/2592"].meta) == GradeOptions(abs_tol=0.1)
    assert by_id["olympiadbench/2253"].meta["unit"] == "minute"
    assert by_id["olympiadbench/2999"].gold == "(-\\infty, 0) \\cup\\{1\\}"
    assert by_id["olympiadbench/1700"].meta["solutions"] == ["...", "another"]
    assert by_id["olympiadbench/1700"].solution == "..."
    assert report.normalized == {"math_delimiters": 2, "trailing_period": 1}


def test_olympiadbench_error_field_must_be_a_number(tmp_path):
    row = {"id": 1, "question": "q", "answer": "4.2", "error": "one tenth"}
    with pytest.raises(DataError) as err:
        load_problems(_write(tmp_path, [row]), fmt="olympiadbench")
    assert (err.value.line, err.value.field) == (1, "error")


def test_aime_amc_golds_are_integers_without_padding():
    aime24, report = _load("aime24")
    assert [(p.id, p.gold) for p in aime24] == [("aime24/60", "204"), ("aime24/61", "25")]
    assert aime24[1].meta["raw_gold"] == "025" and report.normalized == {"zero_padding": 1}
    aime25, _ = _load("aime25")
    assert [(p.id, p.gold, p.solution) for p in aime25] == [
        ("aime25-0", "70", "Thus the answer is $49+21=\\boxed{70}$"),
        ("aime25-14", "735", None),
    ]
    amc23, _ = _load("amc23")
    assert [(p.id, p.gold) for p in amc23] == [("amc23/0", "27"), ("amc23/38", "901")]


def test_amc23_float_answers_from_the_source_become_integers(tmp_path):
    (p,) = load_problems(_write(tmp_path, [{"id": 0, "problem": "q", "answer": 27.0}]), fmt="amc23")
    assert p.gold == "27"


def test_minerva_and_college_math():
    minerva, _ = _load("ocw")
    assert [p.gold for p in minerva] == ["1.6", "4.5e33"] and minerva[0].dataset == "minerva_math"
    assert GradeOptions.from_meta(minerva[0].meta) == GradeOptions(rel_tol=0.01, sig_figs=True)
    college, report = _load("college_math")
    assert [p.gold for p in college] == ["10-4 n", "(45,2),(-10,-9)", "\\$ 3040"]
    assert college[0].meta["subject"] == "algebra" and college[0].meta["license"].startswith("Creative")
    assert report.notes == {"duplicate_question": 1}


@pytest.mark.parametrize(
    "raw,gold,changes",
    [
        ("$\\frac{1}{2}$", "\\frac{1}{2}", ["math_delimiters"]),
        ("$48$, $384$", "48, 384", ["math_delimiters"]),
        (
            "$(-\\infty, 0) \\cup\\{1\\}$.",
            "(-\\infty, 0) \\cup\\{1\\}",
            ["trailing_period", "math_delimiters"],
        ),
        ("$\\$ 3040$", "\\$ 3040", ["math_delimiters"]),
        ("\\(x+1\\)", "x+1", ["math_delimiters"]),
        ("42", "42", []),
    ],
)
def test_clean_gold(raw, gold, changes):
    assert clean_gold(raw) == (gold, changes)


def test_zero_padding_only_for_integer_answer_sets():
    assert clean_gold("025", integer_answers=True) == ("25", ["zero_padding"])
    assert clean_gold("0", integer_answers=True) == ("0", [])
    assert clean_gold("025") == ("025", [])
    assert strip_math_delimiters("$5$ or $9$") == "5 or 9"


@pytest.mark.parametrize(
    "pred,gold",
    [
        ("25", "025"),
        ("025", "25"),
        ("$\\frac{1}{2}$", "\\frac{1}{2}"),
        ("0.5", "$\\frac{1}{2}$"),
        ("$25$", "025"),
    ],
)
def test_padded_and_dollar_wrapped_golds_grade_as_people_expect(pred, gold):
    assert is_equiv(pred, gold)


def test_grading_options_round_trip_through_json():
    problems, _ = _load("olympiadbench")
    for p in problems:
        assert Problem.from_dict(json.loads(json.dumps(p.to_dict()))) == p


def test_dataset_file_sha256_and_report(tmp_path):
    path = dataset_file("gaokao2023", data_dir=MINI)
    assert path == MINI / "gaokao2023en" / "test.jsonl"
    report = load_dataset_report("gaokao2023en", data_dir=MINI)
    assert report.sha256 == file_sha256(path) and len(report.sha256) == 64
    assert report.to_dict()["kept"] == 5 and report.records == 6
    assert dataset_file(path) == path  # a local file is its own dataset file
    with pytest.raises(DataError, match="no split"):
        dataset_file("aime24", split="train", data_dir=MINI)
    with pytest.raises(DataError, match="unknown dataset"):
        dataset_file("not_a_set", data_dir=MINI)


def test_limit_counts_kept_problems_not_records():
    problems, report = _load("gaokao2023en", limit=3)
    assert len(problems) == 3 and report.kept == 3 and report.skipped == {"empty_gold": 1}


def test_data_stats_counts_skips_and_repairs(capsys, monkeypatch):
    from mathforge.cli import main

    monkeypatch.setenv("COLUMNS", "200")  # rich folds long cells in a narrow terminal
    assert main(["data", "stats", "--data-dir", str(MINI)]) == 0
    out = capsys.readouterr().out
    assert "skipped empty_gold 1; repaired trailing_junk 1, wrong_gold_corrected 1" in out  # gaokao2023en
    assert "mawps_singleop" in out and file_sha256(MINI / "mawps" / "test.jsonl")[:16] in out
