"""The evaluation-throughput benchmark runs end to end on the test model (a smoke run: figures are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_evaluate_bench_prints_the_three_runs(tiny_tir_model, data_dir):
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "evaluate_bench.py"), "--model", str(tiny_tir_model),
         "--data-dir", str(data_dir), "--problems", "4", "--batch-size", "2", "--max-tokens", "16",
         "--prompt-format", "plain"],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    runs = [
        line.split("|")[1].strip()
        for line in out.stdout.splitlines()
        if line.startswith("| ") and "---" not in line
    ]
    assert runs[1:] == ["raw batched generate", "evaluate, static batches", "evaluate, continuous (slots)"]
    assert "x raw batched tokens/s (goal >= 0.8" in out.stdout
