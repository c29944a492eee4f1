"""The viewer benchmark runs end to end on two GSM8K problems in headless Chromium (a smoke run: sizes are
checked for sense, load times are not asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "tests" / "fixtures" / "data_mini"  # gsm8k/test.jsonl: 2 problems


def _browser_missing() -> str | None:
    if not Path("/usr/bin/chromium").is_file():  # the path the benchmark drives
        return "/usr/bin/chromium is not installed (apt-get install chromium; .ci/run does)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (make install)"
    return None


def test_view_bench_prints_sizes_load_times_and_interaction_times(tmp_path):
    import tempfile

    # Chromium's singleton socket path must stay under ~107 bytes: pytest's tmp_path can be longer
    short_tmp = Path(tempfile.mkdtemp(prefix="vb-", dir="/tmp"))
    reason = _browser_missing()
    if reason:
        if os.environ.get("MATHFORGE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required here but {reason}")
        pytest.skip(reason)
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "view_bench.py"), "--data-dir", str(MINI), "--loads", "1"],
        capture_output=True, text=True, timeout=300, cwd=REPO, env={**os.environ, "TMPDIR": str(short_tmp)},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    sizes = {
        cells[0]: cells[1:]
        for line in out.stdout.splitlines()
        if line.startswith("| ")
        and len(cells := [c.strip() for c in line.strip("|").split("|")]) == 7
        and cells[0] not in ("page", "---")
    }
    assert list(sizes) == ["one run (2)", "two runs compared", "one run, n=8 (16)"]
    assert [row[0] for row in sizes.values()] == ["2", "4", "16"]  # samples
    assert all(float(row[3].replace(",", "")) > 0 for row in sizes.values())  # HTML KiB
    loads = [line for line in out.stdout.splitlines() if re.match(r"\| (blank page|one run|two runs)", line)]
    assert len(loads) == 3 + 4  # three pages sized, then the blank page and three pages loaded
    assert re.search(r"On the 16-sample page: a filter change redraws in [\d.]+ ms", out.stdout)
    pages = sorted(p.name for p in next(short_tmp.glob("view-bench-*")).glob("*.html"))
    assert pages == ["0.html", "1.html", "2.html", "blank.html"]
