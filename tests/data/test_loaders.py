"""Loaders on a hand-written mini data folder (tests/fixtures/data_mini) and on malformed files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mathforge.data import Problem, canonical_number, data_dir, load_problems
from mathforge.io import DataError

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "data_mini"


def test_gsm8k_gold_after_hashes_without_commas():
    problems = load_problems("gsm8k", data_dir=MINI)
    assert [p.gold for p in problems] == ["1200", "6"]
    assert "<<3*400=1200>>" in problems[0].solution  # calculator annotations kept
    assert problems[0].id == "gsm8k/test/0" and problems[0].dataset == "gsm8k" and problems[0].split == "test"


def test_math_gold_is_last_boxed_with_nested_braces_and_int_level():
    problems = load_problems("math", data_dir=MINI)
    assert [p.gold for p in problems] == ["\\frac{3}{4}", "2", "\\{1,\\{2\\}\\}"]
    assert problems[0].meta == {"subject": "Prealgebra", "level": 2}
    assert problems[2].meta["level"] is None  # "Level ?" in MATH train


def test_math500_uses_answer_field_and_unique_id():
    (p,) = load_problems("math500", data_dir=MINI)
    assert p.id == "test/prealgebra/1.json" and p.gold == "\\frac{3}{4}"
    assert p.meta == {"subject": "Prealgebra", "level": 2} and p.dataset == "math500"


def test_svamp_asdiv_gsm_hard_golds_are_canonical_strings():
    assert [p.gold for p in load_problems("svamp", data_dir=MINI)] == ["145", "2.5"]
    svamp = load_problems("svamp", data_dir=MINI)[0]
    assert (
        svamp.question == "There are 290 bananas in 2 groups. How big is each group?" and svamp.id == "chal-1"
    )
    assert [p.gold for p in load_problems("asdiv", data_dir=MINI)] == ["9", "Sara"]
    assert [p.gold for p in load_problems("gsm-hard", data_dir=MINI)] == ["3244047.1", "-9867630"]


@pytest.mark.parametrize(
    "value,text",
    [
        (145.0, "145"),
        (2.5, "2.5"),
        (-9867630.0, "-9867630"),
        (3244047.0999999996, "3244047.1"),
        (1e-05, "0.00001"),
        (7, "7"),
        (0.1 + 0.2, "0.3"),
    ],
)
def test_canonical_number(value, text):
    assert canonical_number(value) == text


def test_limit_and_local_path_with_sniffed_format():
    problems = load_problems(MINI / "math" / "test.jsonl", limit=2)
    assert len(problems) == 2 and problems[1].gold == "2"
    assert load_problems(str(MINI / "svamp" / "test.jsonl"))[0].gold == "145"


def test_local_json_list_and_generic_rows(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(
        json.dumps([{"id": "a", "question": "1+1?", "gold": 2}, {"problem": "2+2?", "answer": "4"}])
    )
    problems = load_problems(path)
    assert [(p.id, p.gold) for p in problems] == [("a", "2"), ("mine/1", "4")]


def test_problem_round_trips_through_dict():
    p = load_problems("math", data_dir=MINI, limit=1)[0]
    assert Problem.from_dict(json.loads(json.dumps(p.to_dict()))) == p


def test_data_dir_option_then_env(monkeypatch, tmp_path):
    monkeypatch.setenv("MATHFORGE_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path
    assert data_dir(MINI) == MINI
    monkeypatch.delenv("MATHFORGE_DATA_DIR")
    assert data_dir() is None


def _write(tmp_path, rows, name="bad.jsonl"):
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    "rows,fmt,line,field",
    [
        (
            [{"question": "q", "answer": "x\n#### 1"}, {"question": "q", "answer": "no marker"}],
            "gsm8k",
            2,
            "answer",
        ),
        ([{"question": "q", "answer": "#### 1"}, {"answer": "#### 2"}], "gsm8k", 2, "question"),
        (
            [{"problem": "p", "solution": "s \\boxed{1}"}, {"problem": "p", "solution": "no box"}],
            "math",
            2,
            "solution",
        ),
        ([{"Body": "b", "Question": "q", "Answer": "twelve"}], "svamp", 1, "Answer"),
        ([{"input": "i"}], "gsm_hard", 1, "target"),
        ([{"body": "b", "question": "q"}], "asdiv", 1, "answer"),
    ],
)
def test_malformed_row_names_file_line_field(tmp_path, rows, fmt, line, field):
    path = _write(tmp_path, rows)
    with pytest.raises(DataError) as err:
        load_problems(path, fmt=fmt)
    assert (err.value.path, err.value.line, err.value.field) == (str(path), line, field)
    assert str(path) in str(err.value) and f"line {line}" in str(err.value)


def test_invalid_json_line_names_the_line(tmp_path):
    path = _write(tmp_path, [{"question": "q", "answer": "#### 1"}, "{not json"])
    with pytest.raises(DataError) as err:
        load_problems(path)
    assert err.value.line == 2


def test_missing_dataset_file_and_unknown_names(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_problems("svamp", data_dir=tmp_path)
    with pytest.raises(DataError, match="no split"):
        load_problems("svamp", split="train", data_dir=MINI)
    with pytest.raises(DataError, match="unknown dataset"):
        load_problems("not_a_dataset", data_dir=MINI)
    with pytest.raises(DataError, match="does not exist"):
        load_problems("gsm8k", data_dir=tmp_path / "nope")


def test_hub_ids_fail_clearly_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("MATHFORGE_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="HF_HUB_OFFLINE"):
        load_problems("someone/some-math-set")
    with pytest.raises(DataError, match="HF_HUB_OFFLINE"):
        load_problems("gsm8k")  # no data folder: would fall back to openai/gsm8k on the hub
