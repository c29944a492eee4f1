"""Scale-out figures, each against its baseline measured in the same run.

(1) the sandbox service: executions/s and p50/p99 latency of stateless cells at 1, 8 and 64 concurrent
    clients, through one `mathforge sandbox serve` on 127.0.0.1 (RemoteSandbox.arun) against the in-process
    pool (Sandbox.arun), same workers, same cells (GSM-style arithmetic, deterministic);
(2) evaluate over HTTP against 1 vs 3 loopback `transformers serve` processes of the tests' toy model:
    wall time, samples/s, tokens/s, most requests in flight (over all servers and per server).

CPU seconds count every process involved (this one, the server and its zygotes and children, the model
servers): the machine is shared, so wall-clock rates depend on the other load; CPU per cell much less.

    .venv/bin/python benchmarks/sandbox_service_bench.py [--quick] [--part sandbox|models|all] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

CELL = "price = {a}\nqty = {b}\ntotal = price * qty - {c}\nprint(total)"


def cells(n: int) -> list[str]:
    rng = random.Random(2024)
    return [CELL.format(a=rng.randint(2, 99), b=rng.randint(2, 99), c=rng.randint(0, 50)) for _ in range(n)]


def tree_cpu(pids) -> float:
    """CPU seconds of these processes and all their descendants (alive now)."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            p = psutil.Process(pid)
            procs = [p, *p.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for q in procs:
            try:
                t = q.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
    return total


async def drive(sb, codes: list[str], clients: int) -> tuple[float, list[float], list[str]]:
    """``clients`` concurrent loops taking cells from one queue; returns wall, latencies, outputs in order."""
    queue = list(enumerate(codes))
    lat = [0.0] * len(codes)
    outs = [""] * len(codes)

    async def client():
        while queue:
            i, code = queue.pop()
            start = time.perf_counter()
            r = await sb.arun(code)
            lat[i] = time.perf_counter() - start
            outs[i] = r.stdout

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.perf_counter() - start
    if hasattr(sb, "aclose"):
        await sb.aclose()
    return wall, lat, outs


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))]


def bench_sandbox(args) -> list[dict]:
    from mathforge.sandbox import Sandbox
    from mathforge.sandbox.remote import RemoteSandbox
    from mathforge.sandbox.serve import sandbox_servers

    n = args.cells
    rows = []
    expected = None
    with Sandbox(workers=args.workers) as local, sandbox_servers(1, workers=args.workers,
                                                                 args=["--max-concurrency", 64]) as (srv,):  # fmt: skip
        remote = RemoteSandbox([srv.url], threads=64)
        for mode, sb, pids in (("in-process pool", local, [os.getpid()]), ("service", remote,
                                                                          [os.getpid(), srv.proc.pid])):  # fmt: skip
            asyncio.run(drive(sb, cells(16), 8))  # warm: forks, connections
            for clients in (1, 8, 64):
                codes = cells(n)
                cpu0 = tree_cpu(pids)
                wall, lat, outs = asyncio.run(drive(sb, codes, clients))
                cpu = tree_cpu(pids) - cpu0
                expected = expected or outs
                rows.append({"mode": mode, "clients": clients, "cells": n, "exec_per_s": n / wall,
                             "p50_ms": 1000 * pct(lat, 0.5), "p99_ms": 1000 * pct(lat, 0.99),
                             "cpu_ms_per_cell": 1000 * cpu / n, "same_output": sum(a == b for a, b in zip(outs, expected, strict=True)),
                             "mean_ms": 1000 * statistics.mean(lat)})  # fmt: skip
        remote.close()
    return rows


def bench_models(args) -> list[dict]:
    from mathforge.evaluate import EvaluateConfig, run
    from mathforge.llm.server import transformers_servers
    from mathforge.train.toy import cached_toy_tir_model

    model = cached_toy_tir_model(REPO / ".cache" / "test-models")
    examples = [json.loads(x) for x in (model / "toy_examples.jsonl").read_text().splitlines() if x]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "toy.jsonl"
        data.write_text("".join(json.dumps({"id": r["id"], "question": r["question"], "answer": r["answer"]}) + "\n"
                                for r in examples[: args.problems]))  # fmt: skip
        for servers in (1, 3):
            with transformers_servers(model, servers) as urls:
                out = Path(tmp) / f"run{servers}"
                cfg = EvaluateConfig(model=str(model), base_urls=list(urls), dataset=str(data), out=str(out),
                                     n=args.samples, temperature=0.7, max_tokens=96, concurrency=args.concurrency,
                                     sandbox_workers=1, grade_workers=1, health_interval=0)  # fmt: skip
                pids = [os.getpid(), *(u.proc.pid for u in urls)]
                cpu0 = tree_cpu(pids)
                start = time.perf_counter()
                metrics = run(cfg)
                wall = time.perf_counter() - start
                cpu = tree_cpu(pids) - cpu0
            b = metrics.get("backend", {})
            # requests sent and not answered yet, per server (a router also counts those waiting for a slot)
            per_server = [e["http_max_in_flight"] for e in b.get("endpoints", {}).values()] or [
                b.get("max_in_flight", 0)
            ]
            rows.append({"servers": servers, "samples": metrics["samples"], "wall_s": wall,
                         "samples_per_s": metrics["samples"] / wall,
                         "tokens_per_s": metrics["timing"]["tokens_this_run"] / wall,
                         "max_in_flight": sum(per_server), "max_in_flight_per_server": per_server,
                         "cpu_s": cpu, "accuracy": metrics["accuracy"]})  # fmt: skip
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    ap.add_argument("--part", choices=["sandbox", "models", "all"], default="all")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    args.cells = 48 if args.quick else 320
    args.problems, args.samples, args.concurrency = (6, 1, 4) if args.quick else (12, 2, 4)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("MATHFORGE_NO_PROGRESS", "1")
    report: dict = {}
    if args.part in ("sandbox", "all"):
        rows = report["sandbox"] = bench_sandbox(args)
        print(f"\n## sandbox: {rows[0]['cells']} stateless cells per row, {args.workers} workers, loopback\n")
        print("| mode | clients | exec/s | p50 ms | p99 ms | CPU ms/cell | same output |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in rows:
            print(
                f"| {r['mode']} | {r['clients']} | {r['exec_per_s']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
                f"{r['cpu_ms_per_cell']:.1f} | {r['same_output']}/{r['cells']} |"
            )
        local = {r["clients"]: r for r in rows if r["mode"] != "service"}
        print(
            "\n| clients | service / in-process exec/s | service - in-process p50 ms |\n| ---: | ---: | ---: |"
        )
        for r in (r for r in rows if r["mode"] == "service"):
            base = local[r["clients"]]
            print(
                f"| {r['clients']} | {r['exec_per_s'] / base['exec_per_s']:.2f} | {r['p50_ms'] - base['p50_ms']:+.1f} |"
            )
    if args.part in ("models", "all"):
        rows = report["models"] = bench_models(args)
        print(
            f"\n## evaluate over HTTP: toy model, {rows[0]['samples']} samples, concurrency {args.concurrency} per server\n"
        )
        print(
            "| servers | wall s | samples/s | tok/s | max requests in flight (per server) | CPU s | accuracy |"
        )
        print("| ---: | ---: | ---: | ---: | --- | ---: | ---: |")
        for r in rows:
            print(
                f"| {r['servers']} | {r['wall_s']:.1f} | {r['samples_per_s']:.2f} | {r['tokens_per_s']:.0f} | "
                f"{r['max_in_flight']} ({', '.join(map(str, r['max_in_flight_per_server']))}) | {r['cpu_s']:.1f} | "
                f"{r['accuracy']:.2f} |"
            )
        print(
            f"\n3 servers / 1 server throughput: {rows[1]['samples_per_s'] / rows[0]['samples_per_s']:.2f}x "
            f"(on a machine with {os.cpu_count()} cores)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
