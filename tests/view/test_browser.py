"""The page in a real browser: Debian's headless Chromium (/usr/bin/chromium) driven by Playwright.

No browser is downloaded: Playwright only drives the distribution's Chromium (``.ci/run`` installs it).
Where it is absent the tests skip, saying why; with MATHFORGE_REQUIRE_BROWSER=1 (CI) they fail instead,
so a CI run cannot pass without them. Screenshots are kept as artifacts: under pytest's tmp_path, and
copied to $MATHFORGE_ARTIFACTS when it is set.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mathforge.view import write_view

from .conftest import prediction, write_run, write_train

CHROMIUM = Path(os.environ.get("MATHFORGE_CHROMIUM", "/usr/bin/chromium"))
# the machine's closed network: without the background-networking flags Chromium keeps dialling out
FLAGS = ["--headless", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip


def _unavailable() -> str | None:
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (make install)"
    return None


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    reason = _unavailable()
    if reason:
        if os.environ.get("MATHFORGE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required here but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    args = FLAGS + (["--no-sandbox"] if os.geteuid() == 0 else [])  # Chromium's sandbox refuses root
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh profile
            executable_path=str(CHROMIUM), headless=True, args=args, viewport={"width": 1400, "height": 1000},
        )  # fmt: skip
        yield context
        context.close()


class Page:
    """One page opened from file://, with what it logged and what it requested."""

    def __init__(self, context, path: Path):
        self.page = context.new_page()
        self.console: list[tuple[str, str]] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.console.append(("pageerror", str(e))))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.url = path.resolve().as_uri()
        self.page.goto(self.url)
        self.page.wait_for_selector("body[data-ready]")

    def testid(self, name: str):
        return self.page.get_by_test_id(name)

    def count(self) -> int:
        return int(self.page.locator("section:visible [data-testid=match-count]").get_attribute("data-count"))

    def shot(self, tmp_path: Path, name: str) -> Path:
        path = tmp_path / name
        self.page.screenshot(path=str(path), full_page=True)
        if os.environ.get("MATHFORGE_ARTIFACTS"):
            target = Path(os.environ["MATHFORGE_ARTIFACTS"])
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target / name)
        return path


@pytest.fixture
def open_page(browser_context):
    pages = []

    def _open(path: Path) -> Page:
        pages.append(Page(browser_context, path))
        return pages[-1]

    yield _open
    for p in pages:
        p.page.close()


def test_the_page_loads_from_file_with_no_console_errors(open_page, mixed_run, tmp_path):
    page = open_page(write_view(tmp_path / "run.html", [mixed_run]).out)
    assert page.page.evaluate("document.body.dataset.ready") == "1"
    assert page.console == [], page.console
    assert set(page.requests) == {page.url}  # self-contained: the file itself and nothing else
    assert page.testid("card-accuracy").inner_text().startswith("ACCURACY\n60.0%")
    assert page.testid("chart-subject").locator("rect").count() == 3
    assert page.count() == 30
    assert page.shot(tmp_path, "viewer-run.png").stat().st_size > 10_000


def test_filters_narrow_the_table_to_the_right_count(open_page, mixed_run, tmp_path):
    page = open_page(write_view(tmp_path / "run.html", [mixed_run]).out)
    rows = page.page.locator("section:visible [data-testid=problem-table] tbody tr")
    page.testid("filter-status").select_option("incorrect")
    assert page.count() == 12 == rows.count()  # every third problem, plus the timeout (4) and the error (5)
    page.testid("filter-exec").select_option("timeout")
    assert page.count() == 1 and rows.first.get_attribute("data-id") == "p0004"
    page.testid("filter-exec").select_option("all")
    page.testid("filter-subject").select_option("Algebra")  # problems 0, 3, ...: all wrong
    assert page.count() == 10
    page.testid("filter-status").select_option("correct")
    assert page.count() == 0
    page.testid("filter-status").select_option("all")
    page.testid("filter-subject").select_option("all")
    page.testid("search").fill("what is 2")  # search is over the question text, any case: 2 and 20..29
    assert page.count() == 11
    assert page.console == []


def test_a_trajectory_shows_its_code_output_and_verdict(open_page, mixed_run, tmp_path):
    page = open_page(write_view(tmp_path / "run.html", [mixed_run]).out)
    page.page.locator("section:visible tr[data-id=p0005]").click()
    traj = page.testid("detail").get_by_test_id("trajectory")
    code = traj.get_by_test_id("code-block")
    assert "x = 5 + 7" in code.inner_text() and "print(x)" in code.inner_text()
    assert code.locator("span.b", has_text="print").count() == 1  # highlighted as a builtin
    assert code.locator("span.c").inner_text() == "# the sum"
    out = traj.get_by_test_id("output-block")
    assert "ZeroDivisionError: division by zero" in out.inner_text()
    assert out.get_by_test_id("exec-status").inner_text() == "error" and "0.012 s" in out.inner_text()
    verdict = traj.get_by_test_id("verdict").inner_text()
    assert "extracted answer: 13" in verdict and "gold: 12" in verdict and "wrong" in verdict


def test_model_text_is_shown_as_text_never_run_as_html(open_page, tmp_path):
    row = prediction(0, True)
    row.text = "<img src=x onerror=\"document.title='pwned'\"> <b>bold?</b>\n```python\nprint('<i>')\n```\n"
    page = open_page(
        write_view(tmp_path / "x.html", [write_run(tmp_path / "x", [row, prediction(1, True)])]).out
    )
    page.page.locator("section:visible tr[data-id=p0000]").click()
    assert "<b>bold?</b>" in page.testid("detail").inner_text()
    assert page.page.title() != "pwned" and page.page.locator("#app img").count() == 0


def test_the_comparison_shows_the_flip_counts(open_page, pair_runs, tmp_path):
    page = open_page(write_view(tmp_path / "cmp.html", list(pair_runs)).out)
    page.testid("tab-compare").click()
    counts = {
        k: page.testid(f"flip-{k}").inner_text() for k in ("fixed", "broken", "both_right", "both_wrong")
    }
    assert counts == {"fixed": "4", "broken": "2", "both_right": "5", "both_wrong": "3"}
    assert "p = 0.69" in page.testid("mcnemar").inner_text()  # exact: 2 * 22/64 = 0.6875
    assert "+14.3 points" in page.testid("difference").inner_text()
    page.testid("flip-broken").click()
    assert page.testid("flip-count").get_attribute("data-count") == "2"
    page.testid("flip-list").locator("tbody tr").first.click()
    columns = page.testid("side-by-side").get_by_test_id("side-column")
    assert columns.count() == 2
    assert "correct" in columns.nth(0).get_by_test_id("verdict").inner_text()
    assert "wrong" in columns.nth(1).get_by_test_id("verdict").inner_text()
    assert page.console == []
    page.shot(tmp_path, "viewer-compare.png")


def test_training_curves_with_masked_fraction_and_throughput(open_page, tmp_path):
    page = open_page(write_view(tmp_path / "train.html", [write_train(tmp_path / "train")]).out)
    assert page.testid("loss-chart").count() == 2
    assert page.testid("loss-chart").first.locator("path.line").count() == 1
    assert page.testid("masked-fraction").all_inner_texts() == ["25.0%", "40.0%"]
    assert page.testid("throughput").first.inner_text() == "1,235"
    assert page.console == []


def test_a_large_run_is_paginated(open_page, tmp_path):
    rows = [prediction(i, i % 2 == 0) for i in range(1200)]
    page = open_page(write_view(tmp_path / "big.html", [write_run(tmp_path / "big", rows)]).out)
    table_rows = page.page.locator("section:visible [data-testid=problem-table] tbody tr")
    assert page.count() == 1200 and table_rows.count() == 50
    assert "page 1 of 24" in page.page.locator("section:visible .pager").first.inner_text()
    page.page.locator("section:visible [data-testid=next]").first.click()
    assert table_rows.first.get_attribute("data-id") == "p0050"
    page.testid("filter-status").select_option("incorrect")  # a filter goes back to the first page
    assert page.count() == 600 and table_rows.first.get_attribute("data-id") == "p0001"


def test_without_chromium_the_tests_say_why(monkeypatch):
    import sys

    module = sys.modules[__name__]
    monkeypatch.setattr(module, "CHROMIUM", Path("/nonexistent/chromium"))
    assert "/nonexistent/chromium is not installed" in _unavailable()


def test_a_suite_of_datasets_gets_its_own_tab(open_page, tmp_path):
    paths = []
    for dataset, right in (("gsm8k", 6), ("svamp", 3)):
        rows = [prediction(i, i < right, dataset=dataset) for i in range(10)]
        for r in rows:
            r.id = f"{dataset}/{r.id}"
        paths.append(write_run(tmp_path / dataset, rows))
    page = open_page(write_view(tmp_path / "suite.html", paths).out)
    page.testid("tab-suite").click()
    assert page.testid("suite-table").locator("tbody tr").all_inner_texts() == [
        "gsm8k\t60.0%\t–",
        "svamp\t–\t30.0%",
    ]
    assert page.testid("tab-compare").count() == 0  # no problem in common: nothing to pair
    assert page.console == []


def _bar_widths(chart) -> list[float]:
    return [
        float(w)
        for w in chart.locator("rect.bar").evaluate_all("bars => bars.map(b => b.getAttribute('width'))")
    ]


def test_the_level_filter_narrows_the_table_to_the_right_count(open_page, mixed_run, tmp_path):
    page = open_page(write_view(tmp_path / "run.html", [mixed_run]).out)
    levels = page.testid("filter-level").locator("option").all_inner_texts()
    assert levels == ["all", "Level 1", "Level 2", "Level 3"]  # "1" is shown as metrics.json spells it
    page.testid("filter-level").select_option("Level 2")  # problems 1, 4, 7, ..., 28
    assert page.count() == 10
    page.testid("filter-status").select_option("incorrect")  # of them only the timeout (4) is wrong
    assert page.count() == 1
    rows = page.page.locator("section:visible [data-testid=problem-table] tbody tr")
    assert rows.first.get_attribute("data-id") == "p0004"
    page.testid("filter-level").select_option("Level 1")  # problems 0, 3, ...: every one wrong
    assert page.count() == 10
    page.testid("filter-status").select_option("correct")
    assert page.count() == 0
    assert page.console == []


def test_the_subject_and_level_charts_draw_one_bar_per_group(open_page, mixed_run, tmp_path):
    page = open_page(write_view(tmp_path / "run.html", [mixed_run]).out)
    # Level 1 (= Algebra here) is all wrong; Levels 2 and 3 each lose one problem (the timeout, the error)
    for chart in ("chart-level", "chart-subject"):
        widths = _bar_widths(page.testid(chart))
        assert len(widths) == 3, chart
        assert widths[0] < 1 and widths[1] == widths[2] == pytest.approx(0.9 * 260), (chart, widths)
    assert page.testid("chart-level").locator("text", has_text="Level 3").count() == 1
    assert page.testid("chart-level").locator("text", has_text="90.0%").count() == 2
    assert page.testid("chart-dataset").count() == 0  # one dataset: no per-dataset chart


def test_a_run_of_several_datasets_draws_the_per_dataset_chart(open_page, tmp_path):
    rows = [prediction(i, i < 6, dataset="gsm8k") for i in range(10)]
    rows += [prediction(i, i < 13, dataset="svamp") for i in range(10, 20)]  # 3 of 10 right
    page = open_page(write_view(tmp_path / "mixed.html", [write_run(tmp_path / "mixed", rows)]).out)
    chart = page.testid("chart-dataset")
    assert chart.locator("text", has_text="gsm8k").count() == 1
    assert _bar_widths(chart) == pytest.approx([0.6 * 260, 0.3 * 260])
    page.testid("tab-suite").click()  # and the datasets tab draws the same bars for the run
    suite_chart = page.testid("suite-view").locator(".chart")
    assert suite_chart.count() == 1 and _bar_widths(suite_chart) == pytest.approx([0.6 * 260, 0.3 * 260])
    assert page.console == []


def test_the_summary_cards_show_interval_executions_and_failures(open_page, mixed_run, tmp_path):
    from mathforge.view.payload import accuracy_interval

    page = open_page(write_view(tmp_path / "run.html", [mixed_run]).out)
    low, high, _ = accuracy_interval([1.0] * 18 + [0.0] * 12, 18, 1)  # 18 of 30 right, one sample each
    accuracy = page.testid("card-accuracy").inner_text()
    assert f"95% [{100 * low:.1f}%, {100 * high:.1f}%]" in accuracy and "Wilson score interval" in accuracy
    assert "30 problems, 30 samples" in accuracy
    executions = page.testid("card-executions").inner_text()
    assert executions.startswith("PROGRAMS PER SAMPLE\n1.00")
    assert "30 executions: ok 28, timeout 1, error 1" in executions
    timeouts = page.testid("card-timeouts")
    assert timeouts.inner_text().startswith("EXECUTION TIMEOUTS\n1") and "errors 1" in timeouts.inner_text()
    assert "warn" in timeouts.get_attribute("class")  # a timeout is flagged
    grader = page.testid("card-grader")
    assert "timeouts 0, errors 0" in grader.inner_text() and "warn" not in grader.get_attribute("class")
    assert page.testid("card-maj@3").count() == 0  # one sample a problem: no sampled scores


def test_sampled_runs_show_maj_and_pass_cards_and_a_normal_interval(open_page, tmp_path):
    from mathforge.view.payload import accuracy_interval

    # 6 problems x 4 samples: problem i has i % 5 samples right (the problems differ, so the interval is wide)
    rows = [prediction(i, s < i % 5, sample=s) for i in range(6) for s in range(4)]
    folder = write_run(tmp_path / "r", rows, metrics={"maj@4": 0.5, "pass@4": 0.8333})
    page = open_page(write_view(tmp_path / "r.html", [folder]).out)
    assert page.testid("card-maj@4").inner_text().startswith("MAJ@4\n50.0%")
    assert page.testid("card-pass@4").inner_text().startswith("PASS@4\n83.3%")
    means = [(i % 5) / 4 for i in range(6)]
    low, high, _ = accuracy_interval(means, sum(s < i % 5 for i in range(6) for s in range(4)), 4)
    accuracy = page.testid("card-accuracy").inner_text()
    assert (
        f"95% [{100 * low:.1f}%, {100 * high:.1f}%]" in accuracy
        and "normal interval over problems" in accuracy
    )
    assert "6 problems, 24 samples" in accuracy
    # with several samples the outcome filter also offers "some samples correct"
    page.testid("filter-status").select_option("partly")
    assert page.count() == 3  # problems 1, 2, 3 (0 and 5: none right, 4: all right)
    assert page.console == []


def test_the_comparison_draws_the_per_subject_deltas(open_page, pair_runs, tmp_path):
    page = open_page(write_view(tmp_path / "cmp.html", list(pair_runs)).out)
    page.testid("tab-compare").click()
    table = page.testid("deltas-subjects")
    head = table.locator("thead th").all_inner_texts()
    assert head == ["subject", "problems", "run-a", "run-b", "Δ points", "fixed", "broken"]
    # PAIR by subject (i % 3): Algebra 0,3,6,9,12 gains two fixes; the others each have one fix, one break
    assert table.locator("tbody tr").all_inner_texts() == [
        "Algebra\t5\t40.0%\t80.0%\t+40.0\t2\t0",
        "Geometry\t5\t60.0%\t60.0%\t+0.0\t1\t1",
        "Number Theory\t4\t50.0%\t50.0%\t+0.0\t1\t1",
    ]
    # the chart beside the table: the largest change spans the half-width (150 px), no change draws nothing
    chart = table.locator("xpath=..").locator("svg")
    assert _bar_widths(chart)[0] == pytest.approx(150) and max(_bar_widths(chart)[1:]) < 1
    assert chart.locator("rect.bar.pos").count() == 3 and chart.locator("rect.bar.neg").count() == 0
    assert page.testid("deltas-levels").locator("tbody tr").count() == 3  # the levels table too
    assert page.console == []
