"""False positives and false negatives on the grader regression suite (tests/answer/grader_cases.yaml).

Two graders on the same cases, in one run:
- math-verify alone, as its README uses it: ``verify(parse("$gold$"), parse("$pred$"))`` with default
  settings (its own timeouts on); a case with a full model output is parsed from the whole text;
- mathforge: ``extract_answer`` for full outputs, then the ``Grader`` pool with the case's grading options.
Each case runs math-verify in a forked child that is killed after ``--timeout`` seconds (Math-Verify#65:
some inputs hang despite its timeout); a killed or crashed case counts as graded "not equal".

Prints per grader: correct verdicts, false positives (graded equal, expected not), false negatives (graded
not equal, expected equal), then every case where the two disagree, and mathforge's known failures (xfail).

    .venv/bin/python benchmarks/grader_regression.py [--timeout S] [--cases FILE]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CASES = REPO / "tests" / "answer" / "grader_cases.yaml"


def _math_verify_child(conn, case: dict) -> None:
    from math_verify import parse, verify

    try:
        gold = parse(f"${case['gold']}$")
        pred = parse(case["text"]) if "text" in case else parse(f"${case['pred']}$")
        conn.send(bool(verify(gold, pred)))
    except Exception as exc:  # noqa: BLE001  (math-verify's own crash counts as "not equal")
        conn.send(f"error: {type(exc).__name__}")


def math_verify_verdicts(cases: list[dict], timeout: float) -> list[tuple[bool, str]]:
    """(verdict, status) per case; status is "ok", "timeout" or "error: ..."."""
    import math_verify  # noqa: F401  (imported once here, so each forked child starts warm)

    ctx = mp.get_context("fork")
    out = []
    for case in cases:
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_math_verify_child, args=(child, case), daemon=True)
        proc.start()
        child.close()
        if parent.poll(timeout):
            value = parent.recv()
            out.append((value, "ok") if isinstance(value, bool) else (False, value))
        else:
            out.append((False, "timeout"))
        if proc.is_alive():
            proc.kill()
        proc.join()
        parent.close()
    return out


def mathforge_verdicts(cases: list[dict], timeout: float) -> list[tuple[bool, str]]:
    from mathforge.answer import Grader, extract_answer

    pairs = [
        (extract_answer(c["text"]) if "text" in c else c["pred"], c["gold"], c.get("options")) for c in cases
    ]
    with Grader(workers=2, timeout=timeout) as grader:
        return [(r.correct, r.status) for r in grader.grade_many(pairs)]


def tally(cases: list[dict], verdicts: list[tuple[bool, str]]) -> dict:
    fp = [c["id"] for c, (v, _) in zip(cases, verdicts, strict=True) if v and not c["expected"]]
    fn = [c["id"] for c, (v, _) in zip(cases, verdicts, strict=True) if not v and c["expected"]]
    return {"correct": len(cases) - len(fp) - len(fn), "fp": fp, "fn": fn}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=str(CASES), help="the YAML suite (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per case (default: 10)")
    args = parser.parse_args(argv)
    from rich.console import Console
    from rich.table import Table

    cases = yaml.safe_load(Path(args.cases).read_text(encoding="utf-8"))
    positives = sum(c["expected"] for c in cases)
    timings = {}
    start = time.perf_counter()
    mv = math_verify_verdicts(cases, args.timeout)
    timings["math-verify"] = time.perf_counter() - start
    start = time.perf_counter()
    mf = mathforge_verdicts(cases, args.timeout)
    timings["mathforge"] = time.perf_counter() - start

    console = Console()
    plain = [i for i, c in enumerate(cases) if not c.get("options")]
    table = Table(
        title=f"grader regression suite: {len(cases)} cases ({positives} equal, {len(cases) - positives} not); "
        f"{len(cases) - len(plain)} use per-problem grading options math-verify has no equivalent for"
    )
    for col in (
        "grader",
        "cases",
        "correct",
        "false positives",
        "false negatives",
        "timeouts/errors",
        "wall s",
    ):
        table.add_column(col, justify="left" if col == "grader" else "right")
    results = {}
    for name, verdicts, wall in (
        ("math-verify alone", mv, timings["math-verify"]),
        ("mathforge", mf, timings["mathforge"]),
    ):
        for label, keep in (("all", range(len(cases))), ("no options", plain)):
            subset, sub_verdicts = [cases[i] for i in keep], [verdicts[i] for i in keep]
            t = tally(subset, sub_verdicts)
            if label == "all":
                results[name] = t
            failures = sum(status != "ok" for _, status in sub_verdicts)
            table.add_row(
                f"{name} ({label})",
                str(len(subset)),
                str(t["correct"]),
                str(len(t["fp"])),
                str(len(t["fn"])),
                str(failures),
                f"{wall:.1f}" if label == "all" else "",
            )
    console.print(table)
    console.print("wall s: math-verify forks a child per case (the hang guard), so it is not a speed figure")

    diff = Table(title="cases where the two graders disagree (verdict: equal?)")
    for col in ("case", "source", "expected", "math-verify", "mathforge"):
        diff.add_column(col, overflow="fold")
    for case, (a, sa), (b, sb) in zip(cases, mv, mf, strict=True):
        if a != b:
            mark = lambda v, s: f"{v}" + ("" if s == "ok" else f" ({s})")  # noqa: E731
            diff.add_row(case["id"], case["source"], str(case["expected"]), mark(a, sa), mark(b, sb))
    console.print(diff)
    xfails = [c for c in cases if c.get("xfail")]
    console.print(f"mathforge known failures (xfail in the suite): {len(xfails)}")
    for c in xfails:
        console.print(f"  {c['id']} ({c['source']}): {c['xfail']}")
    wrong = set(results["mathforge"]["fp"]) | set(results["mathforge"]["fn"])
    unexpected = wrong - {c["id"] for c in xfails}
    if unexpected:
        console.print(f"[red]mathforge is wrong on cases not marked xfail: {sorted(unexpected)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
