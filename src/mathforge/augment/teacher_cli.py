"""`mathforge augment teacher`: new questions from a teacher LLM behind an OpenAI-compatible server."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_backend_args(q, default_cache: str) -> None:
    """Options shared with `mathforge synthesize`: the teacher server, sampling, cache, concurrency."""
    q.add_argument(
        "--base-url", required=True, help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1"
    )
    q.add_argument("--model", required=True, help="the model name the server knows")
    q.add_argument("--api", choices=["chat", "completions"], default="chat",
                   help="chat (instruct teachers, default) or completions (raw prompt continuation)")  # fmt: skip
    q.add_argument("--temperature", type=float, default=0.7, help="sampling temperature (default: 0.7)")
    q.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling (default: 1.0)")
    q.add_argument("--max-tokens", type=int, default=512, help="tokens per reply (default: 512)")
    q.add_argument("--seed", type=int, default=0, help="sampling seed; sample i uses seed + i (default: 0)")
    q.add_argument("--concurrency", type=int, default=8, help="requests in flight (default: 8)")
    q.add_argument("--max-retries", type=int, default=5, help="retries per request (default: 5)")
    q.add_argument("--cache", default=default_cache,
                   help=f"SQLite request cache; a re-run answers from it (default: {default_cache})")  # fmt: skip


def cached_backend(args):
    from mathforge.augment.cache import CachedBackend
    from mathforge.llm import load_backend

    backend = load_backend(args.model, args.base_url, api=args.api, concurrency=args.concurrency,
                           max_retries=args.max_retries)  # fmt: skip
    return CachedBackend(backend, args.cache, model=args.model)


def add_teacher_parser(sub) -> None:
    from mathforge.augment.teacher import METHODS, MUGGLEMATH

    q = sub.add_parser(
        "teacher",
        help="new questions from a teacher LLM (rephrase, alter, FOBAR, BF-Trans, expression replacement, "
        "harder, MuggleMath's five evolutions)",
        description="Ask a teacher model for new questions. Methods: " + ", ".join(METHODS)
        + f". 'mugglemath' = {','.join(MUGGLEMATH)}; 'all' = every method. Unusable replies go to "
        "<out>.rejects.jsonl with a reason.",
    )  # fmt: skip
    q.add_argument(
        "--data", default="gsm8k", help="dataset name or JSON/JSONL file of problems (default: gsm8k)"
    )
    q.add_argument("--split", default="train", help="split (default: train)")
    q.add_argument("--data-dir", help="data folder (default: $MATHFORGE_DATA_DIR)")
    q.add_argument("--limit", type=int, help="only the first N problems")
    q.add_argument(
        "--methods", default="rephrase,fobar", help="comma-separated methods (default: rephrase,fobar)"
    )
    q.add_argument("--n", type=int, default=1, help="replies per (problem, method) (default: 1)")
    q.add_argument(
        "--prompt-dir", help="folder of <method>.v<N>.txt prompt files (default: the packaged ones)"
    )
    q.add_argument("--out", default="out/augment/teacher.jsonl", help="output JSONL")
    q.add_argument("--stats", help="stats JSON (default: <out>.stats.json)")
    add_backend_args(q, "out/cache/teacher.sqlite")
    q.set_defaults(func=run_teacher)


def parse_methods(text: str) -> list[str]:
    from mathforge.augment.teacher import METHODS, MUGGLEMATH

    out: list[str] = []
    for m in (x.strip() for x in text.split(",") if x.strip()):
        out += list(METHODS) if m == "all" else MUGGLEMATH if m == "mugglemath" else [m]
    return list(dict.fromkeys(out))


def run_teacher(args: argparse.Namespace) -> int:
    from collections import Counter

    from mathforge.augment.stats import report_stats
    from mathforge.augment.teacher import augment_questions, row_key
    from mathforge.data import load_problems
    from mathforge.io import JsonlAppender, progress
    from mathforge.llm import GenParams

    methods = parse_methods(args.methods)
    problems = load_problems(args.data, split=args.split, data_dir=args.data_dir, limit=args.limit)
    params = GenParams(max_tokens=args.max_tokens, temperature=args.temperature, top_p=args.top_p, n=args.n,
                       seed=args.seed)  # fmt: skip
    backend = cached_backend(args)
    out = JsonlAppender(args.out, key=row_key)
    rejects = JsonlAppender(Path(args.out).with_suffix(".rejects.jsonl"), key=row_key)
    try:
        with out, rejects, progress("teacher", total=len(problems) * len(methods), unit="request") as advance:
            counts = augment_questions(problems, methods, backend, params, out, rejects, advance=advance,
                              max_tasks=4 * args.concurrency, prompt_dir=args.prompt_dir)  # fmt: skip
        by_method = {}
        for m in methods:
            acc = sum(1 for r in out.rows if r["method"] == m)
            rej = Counter(r["reason"] for r in rejects.rows if r["method"] == m)
            by_method[m] = {
                "accepted": acc,
                "rejected": sum(rej.values()),
                "reasons": dict(rej.most_common()),
            }
        stats = {"problems": len(problems), "methods": by_method, "accepted": len(out.rows),
                 "rejected": len(rejects.rows), "requests_failed": counts.get("request_failed", 0),
                 **backend.stats()}  # fmt: skip
    finally:
        backend.close()
    report_stats(stats, Path(args.stats) if args.stats else Path(args.out).with_suffix(".stats.json"),
                 "teacher augmentation")  # fmt: skip
    if stats["requests_failed"]:
        print(
            f"{stats['requests_failed']} requests failed (not recorded): run the same command again to retry them"
        )
        return 1
    return 0
