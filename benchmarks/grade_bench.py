"""Grading throughput: MATH-500 golds vs perturbed predictions.

Compares, on the same pairs in one run:
- baseline: math-verify in-process (``verify(parse(gold), parse(pred))``, its own signal timeouts on);
- ``is_equiv`` in-process (mathforge's exact fast path + math-verify);
- ``Grader`` with 1 and 2 worker processes (hard per-pair kill), and with 2 workers but no fast path.

Predictions are built deterministically from each gold: a third are the gold itself, a third an equivalent
rewrite (``x = ...``, a ``\\text{}`` unit, ``\\dfrac``, a decimal for a simple fraction), a third a wrong answer
(one digit changed). Prints pairs/s, the ratio to the baseline, and how many verdicts match the intended one.

    .venv/bin/python benchmarks/grade_bench.py [--quick] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import logging
import re
import time
from fractions import Fraction


def perturb(gold: str, i: int) -> tuple[str, bool]:
    """(prediction, is it meant to be correct) for the i-th gold."""
    kind = i % 3
    if kind == 0:
        return gold, True
    if kind == 1:
        m = re.fullmatch(r"\\[dt]?frac\{(\d+)\}\{(\d+)\}", gold)
        if (
            m
            and int(m.group(2))
            and Fraction(int(m.group(1)), int(m.group(2))).denominator in (2, 4, 5, 8, 10)
        ):
            return str(float(Fraction(int(m.group(1)), int(m.group(2))))), True
        if "\\frac" in gold:
            return gold.replace("\\frac", "\\dfrac"), True
        if re.fullmatch(r"-?\d+", gold):
            return f"{gold}\\text{{ units}}", True
        return f"x = {gold}" if "=" not in gold and "," not in gold else gold, True
    digits = [m.start() for m in re.finditer(r"\d", gold)]
    if not digits:
        return gold + "+1", False
    pos = digits[-1]
    return gold[:pos] + str((int(gold[pos]) + 1) % 10) + gold[pos + 1 :], False


def bench_math_verify(pairs):
    from math_verify import parse, verify

    verdicts = []
    for pred, gold in pairs:
        verdicts.append(bool(verify(parse(f"${gold}$"), parse(f"${pred}$"))))
    return verdicts


def bench_is_equiv(pairs):
    from mathforge.answer import is_equiv

    return [is_equiv(p, g) for p, g in pairs]


def bench_grader(pairs, workers: int, fast_path: bool = True):
    from mathforge.answer import Grader

    with Grader(workers=workers, timeout=10.0, fast_path=fast_path) as grader:
        # start the pool (fork server + warm-up) before the clock: a long grading job pays it once
        grader.grade_many([("\\sqrt{2}", "\\sqrt{2}")] * workers)
        start = time.perf_counter()
        results = grader.grade_many(pairs)
        elapsed = time.perf_counter() - start
    return [r.correct for r in results], elapsed, sum(r.status == "timeout" for r in results)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="first 90 golds only")
    parser.add_argument("--data-dir", default=None, help="data folder (default: $MATHFORGE_DATA_DIR)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # math-verify logs every failed parse

    from rich.console import Console
    from rich.table import Table

    from mathforge.data import load_problems

    golds = [p.gold for p in load_problems("math500", data_dir=args.data_dir)]
    if args.quick:
        golds = golds[:90]
    built = [perturb(g, i) for i, g in enumerate(golds)]
    pairs = [(pred, gold) for (pred, _), gold in zip(built, golds, strict=True)]
    intended = [ok for _, ok in built]

    # warm math-verify in this process too, so the in-process rows do not pay its first-use cost
    bench_math_verify([("1", "1"), ("\\frac{1}{2}", "0.5")])

    rows = []
    start = time.perf_counter()
    verdicts = bench_math_verify(pairs)
    rows.append(("math-verify in-process (baseline)", time.perf_counter() - start, verdicts, 0))
    start = time.perf_counter()
    verdicts = bench_is_equiv(pairs)
    rows.append(("mathforge is_equiv in-process", time.perf_counter() - start, verdicts, 0))
    for workers in (1, 2):
        verdicts, elapsed, timeouts = bench_grader(pairs, workers)
        rows.append(
            (f"mathforge Grader, {workers} worker{'s' if workers > 1 else ''}", elapsed, verdicts, timeouts)
        )
    verdicts, elapsed, timeouts = bench_grader(pairs, 2, fast_path=False)
    rows.append(("mathforge Grader, 2 workers, no fast path", elapsed, verdicts, timeouts))

    base_rate = len(pairs) / rows[0][1]
    table = Table(title=f"grading {len(pairs)} MATH-500 pairs ({sum(intended)} meant correct)")
    for col in ("grader", "seconds", "pairs/s", "x baseline", "verdicts as intended", "timeouts"):
        table.add_column(col, justify="left" if col == "grader" else "right")
    for name, elapsed, verdicts, timeouts in rows:
        rate = len(pairs) / elapsed
        agree = sum(v == e for v, e in zip(verdicts, intended, strict=True))
        table.add_row(
            name,
            f"{elapsed:.2f}",
            f"{rate:.1f}",
            f"{rate / base_rate:.2f}",
            f"{agree}/{len(pairs)}",
            str(timeouts),
        )
    Console().print(table)
    print("Timings are wall-clock on a shared machine: compare ratios within one run.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
