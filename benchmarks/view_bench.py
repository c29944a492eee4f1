"""Benchmark of the run viewer: page size and load time in headless Chromium, for runs of real problems.

The runs are the real GSM8K test problems (1,319) with made-up tool-integrated trajectories: each problem's
calculator annotations (``<<16-3-4=9>>``) become a program, its prose the text around it; about a quarter
of the samples answer wrongly, a few programs time out or raise. Prompts carry four worked examples, as
a few-shot evaluation's rows do. Figures, each beside its baseline from the same run:

1. size: predictions.jsonl (what a reader has today) vs the payload as JSON vs the HTML page (gzip + base64);
2. load: headless Chromium from file:// until the page has drawn itself (``performance.mark("view-ready")``)
   vs a blank page; the median of ``--loads`` loads, milliseconds of wall-clock;
3. a filter change and a search keystroke on a 10,552-sample run (1,319 problems x 8 samples), timed in
   the page (the table is paginated, so the work is the filtering, not the drawing).

Wall-clock figures depend on what else the machine runs: compare the ratios. ``--screenshots DIR`` also
writes viewer-run.png (a MATH-500 run: subjects and levels) and viewer-compare.png (two GSM8K runs).

    .venv/bin/python benchmarks/view_bench.py [--data-dir DIR] [--loads 5] [--screenshots docs] [--problems N]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

FLAGS = ["--headless", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip
SHOTS = [
    ("Question: Natalia sold clips to 48 of her friends in April, and then she sold half as many clips to "
     "her friends in May. How many clips did Natalia sell altogether in April and May?",
     "Natalia sold 48/2 = 24 clips in May.\n```python\nmay = 48 / 2\ntotal = 48 + may\nprint(total)\n```\n"
     "```output\n72.0\n```\nNatalia sold \\boxed{72} clips altogether."),
    ("Question: Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. "
     "How much did she earn?", "Weng earns 12/60 = $0.2 per minute.\n```python\nprint(12 / 60 * 50)\n```\n"
     "```output\n10.0\n```\nShe earned \\boxed{10} dollars."),
    ("Question: Betty is saving money for a new wallet which costs $100. Betty has only half of the money "
     "she needs. Her parents decided to give her $15 for that purpose, and her grandparents twice as much "
     "as her parents. How much more money does Betty need to buy the wallet?",
     "```python\nhave = 100 / 2\nparents = 15\ngrandparents = 2 * parents\nprint(100 - have - parents - "
     "grandparents)\n```\n```output\n5.0\n```\nBetty needs \\boxed{5} more dollars."),
    ("Question: James writes a 3-page letter to 2 different friends twice a week. How many pages does he "
     "write a year?", "```python\nprint(3 * 2 * 2 * 52)\n```\n```output\n624\n```\nHe writes \\boxed{624} "
     "pages a year."),
]  # fmt: skip
HEAD = (
    "Solve each problem step by step. Use Python where it helps (```python ... ```); the interpreter's output "
    "follows in ```output ... ```. Put the final answer in \\boxed{}.\n\n"
    + "\n\n".join(f"{q}\nSolution:\n{a}" for q, a in SHOTS)
    + "\n\n"
)
ANNOTATION = re.compile(r"<<([^=<>]+)=([^<>]+)>>")


def gsm8k_rows(problems, seed: int, samples: int = 1):
    """Made-up tool-integrated samples for real GSM8K problems (see the module docstring)."""
    from mathforge.rows import ExecutionRecord, PredictionRow

    rng = random.Random(seed)
    rows = []
    for p in problems:
        rationale = p.solution.split("####")[0].strip()
        steps = ANNOTATION.findall(rationale)
        prose = ANNOTATION.sub("", rationale)
        code = "\n".join(f"step_{k + 1} = {expr.strip()}" for k, (expr, _) in enumerate(steps)) or "x = 0"
        code += f"\nprint(step_{len(steps)})" if steps else "\nprint(x)"
        for s in range(samples):
            roll = rng.random()
            status = "timeout" if roll < 0.01 else "error" if roll < 0.03 else "ok"
            output = {"timeout": "TimeoutError: the program ran longer than 10 s",
                      "error": "Traceback (most recent call last):\n  File \"<code>\", line 2\nNameError: "
                               "name 'step_0' is not defined"}.get(status, steps[-1][1] if steps else "0")  # fmt: skip
            correct = status == "ok" and rng.random() < 0.8
            answer = p.gold if correct else str(int(float(p.gold)) + rng.randint(1, 9)) if p.gold else "0"
            text = (f"{prose}\n\nLet me check the arithmetic with Python.\n```python\n{code}\n```\n"
                    f"```output\n{output}\n```\nSo the answer is \\boxed{{{answer}}}.")  # fmt: skip
            rows.append(PredictionRow(
                id=str(p.id), sample=s, gold=p.gold, dataset="gsm8k", prompt=f"{HEAD}Question: {p.question}\nSolution:\n",
                text=text, executions=[ExecutionRecord(code=code, output=output, status=status,
                                                       duration=round(rng.uniform(0.01, 0.2), 3))],
                rounds=1, tokens=len(text) // 4, finish="stop", answer=answer, correct=correct, grade_status="ok",
            ))  # fmt: skip
    return rows


def math_rows(problems, seed: int):
    """MATH-500 with made-up samples: the dataset's own solution as the text, one program where the gold is
    a number, right about 60% of the time (more often at the lower levels)."""
    from mathforge.rows import ExecutionRecord, PredictionRow

    rng = random.Random(seed)
    rows = []
    for p in problems:
        level = int(str(p.meta.get("level", "3")).split()[-1]) if p.meta.get("level") else 3
        correct = rng.random() < 0.95 - 0.12 * level
        answer = p.gold if correct else f"{p.gold}+1"
        text = p.solution.split("\n\n")[0]
        execs = []
        if re.fullmatch(r"-?\d+(\.\d+)?", p.gold or ""):
            code = f"# check the value found above\nvalue = {p.gold}\nprint(value)"
            text += f"\n```python\n{code}\n```\n```output\n{p.gold}\n```\n"
            execs = [ExecutionRecord(code=code, output=p.gold, status="ok", duration=0.02)]
        text += f"\nThe answer is \\boxed{{{answer}}}."
        rows.append(PredictionRow(
            id=str(p.id), gold=p.gold, dataset="math500", subject=p.meta.get("subject"), level=p.meta.get("level"),
            prompt=f"{HEAD}Question: {p.question}\nSolution:\n", text=text, executions=execs, rounds=len(execs),
            tokens=len(text) // 4, finish="stop", answer=answer, correct=correct, grade_status="ok",
        ))  # fmt: skip
    return rows


def write_run(folder: Path, rows, model: str) -> Path:
    from mathforge.evaluate.metrics import summarize
    from mathforge.io import write_json
    from mathforge.rows import write_rows

    folder.mkdir(parents=True, exist_ok=True)
    write_rows(folder / "predictions.jsonl", rows)
    n = max(r.sample for r in rows) + 1
    config = {"model": model, "dataset": rows[0].dataset, "mode": "tir", "n": n, "solution_format": "tora",
              "prompt_format": "plain", "max_rounds": 4}  # fmt: skip
    write_json(folder / "config.json", config)
    metrics = {"config": config, **summarize(rows, lambda pairs: [a == b for a, b in pairs], n)}
    write_json(folder / "metrics.json", metrics)
    return folder


class Browser:
    def __init__(self):
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self._profile = tempfile.TemporaryDirectory()
        args = FLAGS + (["--no-sandbox"] if os.geteuid() == 0 else [])
        self.context = self._pw.chromium.launch_persistent_context(
            self._profile.name, executable_path="/usr/bin/chromium", headless=True, args=args,
            viewport={"width": 1400, "height": 1000},
        )  # fmt: skip

    def load_ms(self, path: Path, ready: str | None = "body[data-ready]") -> float:
        page = self.context.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(path.resolve().as_uri())
        if ready:
            page.wait_for_selector(ready)
            ms = page.evaluate("performance.getEntriesByName('view-ready')[0].startTime")
        else:
            ms = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        page.close()
        if errors:
            raise RuntimeError(f"{path}: console errors {errors}")
        return ms

    def interaction_ms(self, path: Path) -> tuple[float, float]:
        """A filter change and one search keystroke, each timed in the page (synchronous redraw)."""
        page = self.context.new_page()
        page.goto(path.resolve().as_uri())
        page.wait_for_selector("body[data-ready]")
        timed = page.evaluate("""() => {
            const sel = document.querySelector("section [data-testid=filter-status]");
            let t = performance.now();
            sel.value = "incorrect"; sel.dispatchEvent(new Event("change"));
            const filter = performance.now() - t;
            const box = document.querySelector("section [data-testid=search]");
            t = performance.now();
            box.value = "eggs"; box.dispatchEvent(new Event("input"));
            return [filter, performance.now() - t];
        }""")
        page.close()
        return timed[0], timed[1]

    def screenshot(self, path: Path, out: Path, actions: list[tuple[str, str, str]]) -> None:
        """``actions``: ("click", selector, "") or ("select", selector, value), then the whole page."""
        page = self.context.new_page()
        page.goto(path.resolve().as_uri())
        page.wait_for_selector("body[data-ready]")
        for action, selector, value in actions:
            target = page.locator(selector).first
            target.click() if action == "click" else target.select_option(value)
        page.screenshot(path=str(out), full_page=True)
        page.close()

    def close(self):
        self.context.close()
        self._pw.stop()
        self._profile.cleanup()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("MATHFORGE_DATA_DIR"))
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--screenshots", help="folder for viewer-run.png and viewer-compare.png")
    ap.add_argument("--problems", type=int, help="only the first N GSM8K problems (a quick run)")
    args = ap.parse_args()
    from mathforge.data import load_problems
    from mathforge.view import write_view

    gsm8k = load_problems("gsm8k", "test", args.data_dir)[: args.problems]
    work = Path(tempfile.mkdtemp(prefix="view-bench-"))
    run_a = write_run(work / "gsm8k-a", gsm8k_rows(gsm8k, seed=1), "model-a")
    run_b = write_run(work / "gsm8k-b", gsm8k_rows(gsm8k, seed=2), "model-b")
    big = write_run(work / "gsm8k-n8", gsm8k_rows(gsm8k, seed=3, samples=8), "model-a (n=8)")
    pages = {}
    print(
        "| page | samples | predictions.jsonl KiB | payload JSON KiB | HTML KiB | HTML / predictions | build CPU s |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    # the labels name the real sizes (1,319 and 10,552 on the whole test set)
    one, two, eight = f"one run ({len(gsm8k):,})", "two runs compared", f"one run, n=8 ({8 * len(gsm8k):,})"
    for name, paths in ((one, [run_a]), (two, [run_a, run_b]), (eight, [big])):
        cpu = time.process_time()
        result = write_view(work / f"{len(pages)}.html", paths)
        cpu = time.process_time() - cpu
        pages[name] = result.out
        source = sum((p / "predictions.jsonl").stat().st_size for p in paths)
        samples = sum(1 for p in paths for _ in (p / "predictions.jsonl").open())
        print(f"| {name} | {samples:,} | {source / 1024:,.0f} | {result.json_bytes / 1024:,.0f} | "
              f"{result.html_bytes / 1024:,.0f} | {result.html_bytes / source:.2f} | {cpu:.2f} |")  # fmt: skip
    blank = work / "blank.html"
    blank.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>blank</title></head><body></body></html>"
    )
    browser = Browser()
    try:
        browser.load_ms(pages[one])  # a first start of the renderer is not the page's cost
        floor = statistics.median(browser.load_ms(blank, ready=None) for _ in range(args.loads))
        print(f"\n| page | load ms (median of {args.loads}) | vs a blank page |")
        print("| --- | ---: | ---: |")
        print(f"| blank page (baseline) | {floor:.0f} | 1.0 |")
        for name, path in pages.items():
            ms = statistics.median(browser.load_ms(path) for _ in range(args.loads))
            print(f"| {name} | {ms:.0f} | {ms / max(floor, 1e-9):.1f} |")
        filt, search = browser.interaction_ms(pages[eight])
        print(f"\nOn the {8 * len(gsm8k):,}-sample page: a filter change redraws in {filt:.1f} ms, a search keystroke in "
              f"{search:.1f} ms (the table is paginated: 50 problems a page).")  # fmt: skip
        if args.screenshots:
            shots = Path(args.screenshots)
            shots.mkdir(parents=True, exist_ok=True)
            math500 = load_problems("math500", "test", args.data_dir)
            run_m = write_run(work / "math500", math_rows(math500, seed=4), "model-a")
            page = write_view(work / "math.html", [run_m]).out
            browser.screenshot(page, shots / "viewer-run.png", [
                ("select", "section [data-testid=filter-subject]", "Number Theory"),
                ("select", "section [data-testid=filter-level]", "Level 5"),
                ("select", "section [data-testid=filter-status]", "incorrect"),
                ("click", "section [data-testid=problem-table] tbody tr", "")])  # fmt: skip
            browser.screenshot(pages[two], shots / "viewer-compare.png", [
                ("click", "[data-testid=tab-compare]", ""), ("click", "[data-testid=flip-broken]", ""),
                ("click", "[data-testid=flip-list] tbody tr", "")])  # fmt: skip
            print(f"\nscreenshots: {shots / 'viewer-run.png'}, {shots / 'viewer-compare.png'}")
    finally:
        browser.close()
    print(f"\npages under {work}")


if __name__ == "__main__":
    main()
