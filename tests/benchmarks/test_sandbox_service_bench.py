"""The scale-out benchmark runs end to end in quick mode, sandbox part (a smoke run: figures are not asserted,
only that every row ran and the service printed what the in-process pool printed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_sandbox_service_bench_quick(tmp_path):
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "sandbox_service_bench.py"), "--quick", "--part", "sandbox",
         "--json", str(tmp_path / "b.json")],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    rows = json.loads((tmp_path / "b.json").read_text())["sandbox"]
    assert [(r["mode"], r["clients"]) for r in rows] == [
        (mode, c) for mode in ("in-process pool", "service") for c in (1, 8, 64)
    ]
    assert all(r["same_output"] == r["cells"] and r["exec_per_s"] > 0 for r in rows)
    assert "| service | 64 |" in out.stdout
