"""The grader regression benchmark runs end to end on a three-case suite (a smoke run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CASES = """
- {id: a, pred: '\\frac{1}{2006!}', gold: '\\frac{1}{2004!}', expected: false, source: x/y#1, note: n}
- {id: b, pred: '0.5', gold: '\\frac12', expected: true, source: x/y#2, note: n}
- {id: c, pred: '84, 69', gold: '69,84', options: {multi_answer: true}, expected: true, source: x/y#3, note: n}
"""


def test_grader_regression_prints_both_graders_and_their_disagreement(tmp_path):
    cases = tmp_path / "cases.yaml"
    cases.write_text(CASES)
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "grader_regression.py"), "--cases", str(cases)],
        capture_output=True, text=True, timeout=600, cwd=REPO, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    rows = {
        line.split("│")[1].strip(): line.split("│")[2:-1] for line in out.stdout.splitlines() if "│" in line
    }
    # math-verify rounds 1/2004! and 1/2006! to the same float (Math-Verify#14): its one false positive
    assert [c.strip() for c in rows["math-verify alone (all)"][:4]] == ["3", "2", "1", "0"]
    assert [c.strip() for c in rows["mathforge (all)"][:4]] == ["3", "3", "0", "0"]
    assert "a" in rows  # listed among the disagreements
