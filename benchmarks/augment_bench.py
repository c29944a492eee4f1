"""Benchmark of the LLM-free augmentation stages and the request cache.

Figures (each with its baseline measured in the same run):
1. GSM8K chain -> code verification: one program per problem through ``Sandbox.run_many`` (blocks split by
   a printed marker; what ``mathforge augment code`` does) vs the baseline, one ``Session`` per problem
   running its blocks one at a time.
2. Numeric perturbation: variants per second with 2 processes vs 1.
3. Request cache: a cached request vs a request to a backend with 20 ms latency.

Needs the GSM8K train split (``--data-dir`` or ``$MATHFORGE_DATA_DIR``). Timings are wall-clock on
whatever else the machine is doing: compare the ratios.

    .venv/bin/python benchmarks/augment_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time


def bench_convert(problems, workers: int) -> list[tuple[str, float, str]]:
    from mathforge.augment.convert import prepare, split_outputs
    from mathforge.sandbox import Sandbox

    programs = [prog for p in problems if (prog := prepare(p.id, p.solution)[0]) is not None]
    blocks = sum(len(p.blocks) for p in programs)
    with Sandbox(workers=workers, timeout=10) as sb:
        sb.run("print(1)")  # warm
        t = time.perf_counter()
        results = sb.run_many([p.source() for p in programs])
        batch = time.perf_counter() - t
        ok_batch = sum(
            1 for p, r in zip(programs, results, strict=True) if split_outputs(r.stdout, len(p.blocks))
        )
        t = time.perf_counter()
        ok_session = 0
        for p in programs:
            with sb.session() as s:
                ok_session += all(s.run(b.code).status == "ok" for b in p.blocks)
        sessions = time.perf_counter() - t
    n = len(programs)
    return [
        ("convert: programs verified", n, f"{blocks} code blocks"),
        ("convert: run_many, one program/problem (s)", batch, f"{n / batch:.1f} problems/s, {ok_batch} ok"),
        (
            "convert: session/problem, block by block (s)",
            sessions,
            f"{n / sessions:.1f} problems/s, {ok_session} ok",
        ),
        ("convert: speed-up of run_many vs sessions", sessions / batch, "x"),
    ]


def bench_perturb(problems) -> list[tuple[str, float, str]]:
    from mathforge.augment.perturb import perturb_parallel

    rows = []
    times = {}
    for workers in (1, 2):
        t = time.perf_counter()
        kept = sum(len(vs) for _, vs, _ in perturb_parallel(problems, 4, 0, None, workers))
        times[workers] = time.perf_counter() - t
        rows.append((f"perturb: {workers} process(es) (s)", times[workers],
                     f"{kept} variants, {kept / times[workers]:.0f} variants/s"))  # fmt: skip
    rows.append(("perturb: speed-up 2 vs 1 process", times[1] / times[2], "x"))
    return rows


def bench_cache(n: int = 50) -> list[tuple[str, float, str]]:
    from mathforge.llm import Backend, Completion, GenParams
    from mathforge.llm.cache import CachedBackend

    class Slow(Backend):
        concurrent, name = True, "slow"

        def generate(self, prompts, params, on_finish=None):
            time.sleep(0.02 * len(prompts))
            return [[Completion("Question: x", "stop", 5)] for _ in prompts]

        async def agenerate(self, prompt, params):
            await asyncio.sleep(0.02)
            return [Completion("Question: x", "stop", 5)]

    with tempfile.TemporaryDirectory() as d:
        cb = CachedBackend(Slow(), os.path.join(d, "c.sqlite"))
        params = GenParams(max_tokens=8)

        async def run_all():
            for i in range(n):
                await cb.agenerate(f"prompt {i}", params)

        t = time.perf_counter()
        asyncio.run(run_all())
        miss = (time.perf_counter() - t) / n
        t = time.perf_counter()
        asyncio.run(run_all())
        hit = (time.perf_counter() - t) / n
        cb.close()
    return [
        ("cache: miss, 20 ms backend (ms/request)", miss * 1000, ""),
        ("cache: hit (ms/request)", hit * 1000, ""),
        ("cache: speed-up hit vs miss", miss / hit, "x"),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="300 problems instead of 2000")
    ap.add_argument("--data-dir", default=os.environ.get("MATHFORGE_DATA_DIR"))
    ap.add_argument("--workers", type=int, default=2, help="sandbox workers (default: 2)")
    args = ap.parse_args()
    os.environ.setdefault("MATHFORGE_NO_PROGRESS", "1")
    if not args.data_dir:
        ap.error("needs --data-dir or MATHFORGE_DATA_DIR (GSM8K train)")
    from rich.console import Console
    from rich.table import Table

    from mathforge.augment.pipeline import load_gsm8k

    problems = load_gsm8k(data_dir=args.data_dir, limit=300 if args.quick else 2000)
    rows = bench_convert(problems[: 150 if args.quick else 600], args.workers)
    rows += bench_perturb(problems)
    rows += bench_cache(20 if args.quick else 100)
    table = Table(title=f"augment benchmark ({len(problems)} GSM8K train problems; noisy shared CPU)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("note")
    for name, value, note in rows:
        table.add_row(name, f"{value:.2f}" if isinstance(value, float) else str(value), note)
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
