"""Throughput and latency of the sandbox against two baselines, on a fixed workload.

(a) mathforge: ``Sandbox.run_many`` (isolated forked child per cell, warm zygotes)
(b) a fresh ``python3 -c`` subprocess per cell (what a naive isolated executor does)
(c) a process pool reusing warm workers, ``exec`` with no isolation (the ToRA design)

Workload: GSM-style arithmetic cells and sympy cells (solve, simplify, Rational, factor), generated
deterministically. Throughput: all cells of a kind submitted at once, ``--workers`` parallel
executors in every mode. Latency: one cell at a time (round trip), p50/p99. Baseline (b) is slow on
sympy cells (each pays the import), so it runs on a prefix of the workload; rates are per cell.
Every mode's stdout is checked against (c); mismatches are reported. CPU ms/cell counts every
process of the mode (parent, zygotes and their children, pool workers, subprocesses): on a shared
machine wall-clock rates depend on the other load, CPU per cell much less; "cells/s per free core"
is 1000 / CPU ms, the rate one otherwise idle core would sustain.

    .venv/bin/python benchmarks/sandbox_bench.py [--quick] [--workers N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

GSM_TEMPLATES = [
    "price = {a}\nqty = {b}\ndiscount = {c} / 100\ntotal = price * qty * (1 - discount)\nprint(round(total, 2))",
    "def solution():\n    apples = {a}\n    eaten = {b}\n    bought = {c}\n    return apples - eaten + bought\n\nprint(solution())",
    "from fractions import Fraction\nshare = Fraction({a}, {b})\nprint(share * {c})",
    "import math\nboxes = math.ceil({a} / {b})\nprint(boxes * {c})",
    "hours = [{a}, {b}, {c}]\nrate = {d}\nweekly = sum(hours) * rate\nprint(weekly * 4)",
    "speed = {a}\ntime_h = {b} / 60\ndistance = speed * time_h\nprint(f'{{distance:.2f}}')",
]
SYMPY_TEMPLATES = [
    "from sympy import symbols, solve\nx = symbols('x')\nprint(solve(x**2 - {s}*x + {p}, x))",
    "from sympy import symbols, simplify\nx = symbols('x')\nprint(simplify((x**2 - {a}**2) / (x - {a})))",
    "from sympy import Rational\nprint(Rational({a}, {b}) + Rational({c}, {d}))",
    "from sympy import symbols, Eq, solve\nx, y = symbols('x y')\nprint(solve([Eq(x + y, {a}), Eq(x - y, {b})], [x, y]))",
    "from sympy import symbols, expand, factor\nx = symbols('x')\nprint(factor(expand((x + {a}) * (x - {b}))))",
]


def workload(kind: str, n: int) -> list[str]:
    rng = random.Random(f"{kind}-2024")
    templates = GSM_TEMPLATES if kind == "gsm" else SYMPY_TEMPLATES
    cells = []
    for i in range(n):
        a, b, c, d = (rng.randint(2, 99) for _ in range(4))
        r1, r2 = rng.randint(1, 12), rng.randint(1, 12)
        cells.append(templates[i % len(templates)].format(a=a, b=b, c=c, d=d, s=r1 + r2, p=r1 * r2))
    return cells


# ----------------------------------------------------------------------------------- baselines


def _subprocess_cell(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    return out.stdout


def _pool_init() -> None:
    """Warm exactly like a zygote (same imports, same sympy exercise), so the comparison is fair."""
    from mathforge.sandbox.pool import DEFAULT_PRELOAD
    from mathforge.sandbox.zygote import warm

    warm(list(DEFAULT_PRELOAD))


def _pool_cell(code: str) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(code, {"__name__": "__main__"})
    return buf.getvalue()


def _proc_cpu(pid: int, children: bool = True) -> float:
    """CPU seconds of a process (and, with ``children``, of the children it has reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = sum(int(x) for x in fields[11 : 15 if children else 13])
    return ticks / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            kids = [int(x) for x in fh.read().split()]
    except OSError:
        return []
    return kids + [d for k in kids for d in _descendants(k)]


def _self_cpu(children: bool = False) -> float:
    t = os.times()
    return t.user + t.system + ((t.children_user + t.children_system) if children else 0.0)


class Mode:
    """One executor: run one cell, run a batch, and the CPU its worker processes have used so far."""

    def __init__(self, name: str, run_one, run_all, workers_cpu, close=lambda: None):
        self.name, self.run_one, self.run_all, self.workers_cpu, self.close = (
            name,
            run_one,
            run_all,
            workers_cpu,
            close,
        )


def make_modes(workers: int) -> list[Mode]:
    from mathforge.sandbox import Sandbox

    sb = Sandbox(workers=workers, timeout=60)
    threads = ThreadPoolExecutor(workers)
    pool = ProcessPoolExecutor(workers, initializer=_pool_init)
    list(pool.map(_pool_cell, ["print(1)"] * workers * 2))  # start and warm the workers
    zygote_pids = [z.proc.pid for z in sb._zygotes]
    return [
        Mode("(a) mathforge isolated", lambda c: sb.run(c).stdout, lambda cs: [r.stdout for r in sb.run_many(cs)],
             lambda: sum(_proc_cpu(p) for z in zygote_pids for p in [z, *_descendants(z)]), sb.close),
        Mode("(b) subprocess per cell", _subprocess_cell, lambda cs: list(threads.map(_subprocess_cell, cs)),
             lambda: _self_cpu(children=True) - _self_cpu(), threads.shutdown),
        Mode("(c) process pool, no isolation", lambda c: pool.submit(_pool_cell, c).result(),
             lambda cs: list(pool.map(_pool_cell, cs)), lambda: sum(_proc_cpu(p) for p in pool._processes), pool.shutdown),
    ]  # fmt: skip


def measure(mode: Mode, cells: list[str], latency_cells: list[str]) -> dict:
    cpu0 = mode.workers_cpu() + _self_cpu()
    start = time.perf_counter()
    outputs = mode.run_all(cells)
    wall = time.perf_counter() - start
    cpu = mode.workers_cpu() + _self_cpu() - cpu0
    latencies = []
    for code in latency_cells:
        t0 = time.perf_counter()
        mode.run_one(code)
        latencies.append(time.perf_counter() - t0)
    latencies.sort()
    return {
        "n": len(cells),
        "rate": len(cells) / wall,
        "cpu_ms": cpu / len(cells) * 1000,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000,
        "outputs": outputs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small workload (seconds, for CI smoke runs)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="parallel executors per mode"
    )
    args = parser.parse_args(argv)
    sizes = (
        {"gsm": (120, 30, 30), "sympy": (40, 10, 15)}
        if args.quick
        else {"gsm": (600, 100, 200), "sympy": (150, 30, 60)}
    )
    load0 = f"{os.getloadavg()[0]:.1f}"
    modes = make_modes(args.workers)
    results: dict[tuple[str, str], dict] = {}
    try:
        for kind, (n, n_subprocess, n_latency) in sizes.items():
            cells = workload(kind, n)
            for mode in modes:
                use = cells[:n_subprocess] if mode.name.startswith("(b)") else cells
                lat = use[
                    : min(n_latency, 10) if mode.name.startswith("(b)") else n_latency
                ]  # (b): seconds each
                print(f"running {mode.name} on {len(use)} {kind} cells ...", file=sys.stderr, flush=True)
                results[(kind, mode.name)] = measure(mode, use, lat)
    finally:
        for mode in modes:
            mode.close()
    print(
        f"\nsandbox benchmark: {args.workers} workers, {os.cpu_count()} cores, python {sys.version.split()[0]}"
    )
    print(
        f"load average before/after: {load0} / {os.getloadavg()[0]:.1f} (other work on the machine slows every mode)"
    )
    print(
        "| workload | mode | cells | cells/s | p50 ms | p99 ms | CPU ms/cell | cells/s per free core | (a) speed-up | outputs = (c) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for kind in sizes:
        ref = results[(kind, modes[2].name)]["outputs"]
        a_rate = results[(kind, modes[0].name)]["rate"]
        for mode in modes:
            r = results[(kind, mode.name)]
            same = sum(o == e for o, e in zip(r["outputs"], ref, strict=False))
            # CPU times come in clock ticks (10 ms): a quick run's fast mode can measure 0
            per_core = f"{1000 / r['cpu_ms']:.0f}" if r["cpu_ms"] > 0 else "- (under one clock tick)"
            print(
                f"| {kind} | {mode.name} | {r['n']} | {r['rate']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} | "
                f"{r['cpu_ms']:.1f} | {per_core} | {a_rate / r['rate']:.2f}x | {same}/{r['n']} |"
            )
    targets = [
        ("(a) GSM cells/s >= 120", results[("gsm", modes[0].name)]["rate"] >= 120),
        ("(a) sympy cells/s >= 70", results[("sympy", modes[0].name)]["rate"] >= 70),
        ("(a) >= 30x (b) on sympy", results[("sympy", modes[0].name)]["rate"] >= 30 * results[("sympy", modes[1].name)]["rate"]),
    ]  # fmt: skip
    print("\n" + "\n".join(f"target {name}: {'met' if ok else 'NOT met'}" for name, ok in targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
