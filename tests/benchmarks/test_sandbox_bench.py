"""The sandbox benchmark runs end to end in quick mode (a smoke run: figures are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_sandbox_bench_quick_prints_every_mode_with_outputs_equal_to_the_pool():
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "sandbox_bench.py"), "--quick"],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [
        line.split("|")[1:-1] for line in out.stdout.splitlines() if line.startswith(("| gsm", "| sympy"))
    ]
    assert [(r[0].strip(), r[1].strip()[:3]) for r in rows] == [
        (kind, mode) for kind in ("gsm", "sympy") for mode in ("(a)", "(b)", "(c)")
    ]
    for r in rows:  # every mode printed what the unisolated pool printed, for every cell
        same, total = r[-1].strip().split("/")
        assert same == total == r[2].strip()
    assert out.stdout.count("target ") == 3
