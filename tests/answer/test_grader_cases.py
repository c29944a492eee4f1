"""The grader regression suite (grader_cases.yaml): answer pairs from other graders' bug reports.

Every case runs through the Grader pool (the production path) and, unless it hangs, through the in-process
``is_equiv`` too; both must give the verdict a careful human gives. Cases mathforge still gets wrong carry
an ``xfail`` reason in the data file and run as strict xfails, so fixing one is noticed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from mathforge.answer import GradeOptions, Grader, extract_answer, is_equiv

CASES_FILE = Path(__file__).with_name("grader_cases.yaml")
CASES = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))
# repo#number (an issue or pull request), owner/repo:path (a grader's source) or a named document
SOURCE_RE = re.compile(r"^[\w.-]+/[\w.-]+(#\d+|:\S+)|^shared/data/README\.md|^mathforge \(")


def _param(case: dict):
    marks = [pytest.mark.xfail(reason=case["xfail"], strict=True)] if case.get("xfail") else []
    return pytest.param(case, id=case["id"], marks=marks)


@pytest.fixture(scope="module")
def grader():
    # a generous timeout: a shared, loaded machine must not turn a slow parse into a false "wrong"
    with Grader(workers=2, timeout=60.0) as g:
        yield g


@pytest.fixture(scope="module")
def impatient_grader():
    with Grader(workers=1, timeout=3.0) as g:
        yield g


def _prediction(case: dict) -> str | None:
    return extract_answer(case["text"]) if "text" in case else case["pred"]


def test_suite_is_substantial_and_well_formed():
    assert len(CASES) >= 60
    assert len({c["id"] for c in CASES}) == len(CASES)
    for case in CASES:
        assert ("pred" in case) != ("text" in case), case["id"]
        assert isinstance(case["expected"], bool) and case["gold"] and case["note"], case["id"]
        assert SOURCE_RE.match(case["source"]), case["source"]
        GradeOptions.coerce(case.get("options"))  # only known option names
    # the three trackers the suite was built from are all represented
    for repo in ("huggingface/Math-Verify#", "QwenLM/Qwen2.5-Math", "EleutherAI/lm-evaluation-harness#"):
        assert sum(c["source"].startswith(repo) for c in CASES) >= 8, repo


@pytest.mark.parametrize("case", [_param(c) for c in CASES if "extracted" in c])
def test_extraction(case):
    assert extract_answer(case["text"]) == case["extracted"]


@pytest.mark.parametrize("case", [_param(c) for c in CASES if not c.get("hangs")])
def test_verdict(case, grader):
    pred, options = _prediction(case), case.get("options")
    result = grader.grade(pred, case["gold"], options)
    assert result.status == "ok", result
    assert result.correct is case["expected"], f"Grader: {pred!r} vs {case['gold']!r}"
    assert is_equiv(pred, case["gold"], **(options or {})) is case["expected"], "is_equiv disagrees"


@pytest.mark.parametrize("case", [_param(c) for c in CASES if c.get("hangs")])
def test_hanging_case_is_killed_and_graded_false(case, impatient_grader):
    result = impatient_grader.grade(_prediction(case), case["gold"], case.get("options"))
    assert result.correct is case["expected"] is False
    assert result.status == "timeout"
