"""The inference benchmark runs end to end on the test model (a smoke run: figures are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_infer_bench_quick_prints_both_runs_and_a_trajectory(tiny_tir_model):
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "infer_bench.py"), "--quick", "--no-http",
         "--model", str(tiny_tir_model)],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    table = [line for line in out.stdout.splitlines() if line.startswith("| in-process custom")]
    assert [row.split("|")[1].strip() for row in table] == [
        "in-process custom plain",
        "in-process custom tir",
    ]
    *_, executions, correct, _ = table[1].split("|")
    assert executions.strip() == "8", "every one of the 8 problems ran one program"
    # The fixture trains until it solves all its examples in one greedy batch on this machine (toy_check.json);
    # the benchmark batches differently, and a near-tie can flip in the last float bits on another CPU:
    # one miss is allowed, so the test holds on any machine (it once failed elsewhere at 7/8).
    solved, total = (int(x) for x in correct.strip().split("/"))
    assert total == 8 and solved >= 7
    assert "in-process tir overhead ratio, custom model" in out.stdout
    assert "```output\n" in out.stdout and "\\boxed{" in out.stdout  # the example trajectory
