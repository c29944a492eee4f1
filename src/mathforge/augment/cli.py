"""`mathforge augment`: LLM-free GSM8K data (code, audit, perturb) and teacher augmentation (teacher)."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "augment",
        help="make training data: GSM8K chains -> code-nested solutions, label audit, numeric "
        "perturbation, teacher-LLM question augmentation",
        description="Augmentation. LLM-free: `code` (GSM8K calculator chains -> sandbox-verified code-nested "
        "solutions), `audit` (GSM8K label errors), `perturb` (new numbers, re-executed chain). With a teacher "
        "behind an OpenAI-compatible server: `teacher` (rephrase, FOBAR, MuggleMath evolutions, ...).",
    )
    sub = p.add_subparsers(dest="augment_cmd", metavar="CMD", required=True)

    def common(q, out_default: str):
        q.add_argument("--data-dir", help="data folder (default: $MATHFORGE_DATA_DIR)")
        q.add_argument("--input", help="a GSM8K-format JSONL file instead of the data folder's gsm8k split")
        q.add_argument("--split", default="train", help="GSM8K split (default: train)")
        q.add_argument("--limit", type=int, help="only the first N problems")
        q.add_argument("--out", default=out_default, help=f"output JSONL (default: {out_default})")
        q.add_argument("--stats", help="stats JSON (default: <out>.stats.json)")

    q = sub.add_parser(
        "code", help="GSM8K chains -> code-nested (ToRA) solutions, kept only if execution gives gold"
    )
    common(q, "out/augment/gsm8k_code.jsonl")
    q.add_argument("--rejects", help="rejected problems with reason (default: <out>.rejects.jsonl)")
    q.add_argument("--workers", type=int, default=None, help="sandbox workers (default: CPU count)")
    q.add_argument("--timeout", type=float, default=10.0, help="seconds per program (default: 10)")
    q.set_defaults(func=run_code)

    q = sub.add_parser("audit", help="GSM8K label audit: wrong arithmetic, chains that miss the #### answer")
    common(q, "out/augment/gsm8k_audit.jsonl")
    q.set_defaults(func=run_audit)

    q = sub.add_parser("perturb", help="numeric perturbation: new numbers, re-executed chain, new gold")
    common(q, "out/augment/gsm8k_perturbed.jsonl")
    q.add_argument("--n", type=int, default=4, help="variants per source problem (default: 4)")
    q.add_argument("--seed", type=int, default=0, help="base seed; each variant is seeded by (seed, id, k)")
    q.add_argument("--tries", type=int, default=None, help="draws per source problem (default: 10*n)")
    q.add_argument("--workers", type=int, default=1, help="processes (default: 1)")
    q.set_defaults(func=run_perturb)

    from mathforge.augment.teacher_cli import add_teacher_parser

    add_teacher_parser(sub)


def _stats_path(args) -> Path:
    return Path(args.stats) if args.stats else Path(args.out).with_suffix(".stats.json")


def _problems(args):
    from mathforge.augment.pipeline import load_gsm8k

    return load_gsm8k(args.input, split=args.split, limit=args.limit, data_dir=args.data_dir)


def run_code(args: argparse.Namespace) -> int:
    from mathforge.augment.pipeline import conversion_row, convert_many
    from mathforge.augment.stats import report_stats
    from mathforge.io import JsonlAppender, progress
    from mathforge.sandbox import Sandbox

    problems = _problems(args)
    rejects_path = Path(args.rejects) if args.rejects else Path(args.out).with_suffix(".rejects.jsonl")
    out = JsonlAppender(args.out, key=lambda r: r["source_id"])
    rejects = JsonlAppender(rejects_path, key=lambda r: r["id"])
    todo = [p for p in problems if p.id not in out.done and p.id not in rejects.done]
    with out, rejects, Sandbox(workers=args.workers, timeout=args.timeout) as sandbox:
        with progress("chain -> code", total=len(todo), unit="problem") as advance:
            for problem, conv in convert_many(todo, sandbox, advance=advance):
                if conv.ok:
                    out.write(conversion_row(problem, conv))
                else:
                    rejects.write({"id": problem.id, "reason": conv.reason, **conv.detail})
        reasons = Counter(r["reason"] for r in rejects.rows)
        total = len(out.rows) + len(rejects.rows)
        stats = {
            "total": total,
            "converted": len(out.rows),
            "rate": round(len(out.rows) / total, 4) if total else 0.0,
            "rejected": dict(reasons.most_common()),
        }
    report_stats(stats, _stats_path(args), "GSM8K chain -> code-nested")
    return 0


def run_audit(args: argparse.Namespace) -> int:
    from mathforge.augment.audit import audit_answer
    from mathforge.augment.stats import report_stats
    from mathforge.io import write_jsonl

    problems = _problems(args)
    findings = [f for p in problems for f in audit_answer(p.id, p.solution)]
    write_jsonl(args.out, findings)  # cheap to recompute: written whole, atomically
    stats = {
        "problems": len(problems),
        "problems_flagged": len({f["id"] for f in findings}),
        "findings": len(findings),
        "by_reason": dict(Counter(f["reason"] for f in findings).most_common()),
    }
    report_stats(stats, _stats_path(args), "GSM8K label audit")
    return 0


def run_perturb(args: argparse.Namespace) -> int:
    from mathforge.augment.perturb import perturb_parallel
    from mathforge.augment.stats import report_stats
    from mathforge.io import JsonlAppender, progress

    problems = _problems(args)
    out = JsonlAppender(args.out, key=lambda r: r["id"])
    # one row per finished source problem (also those with no variant), so a resumed run skips them
    sources = JsonlAppender(Path(args.out).with_suffix(".sources.jsonl"), key=lambda r: r["source_id"])
    todo = [p for p in problems if p.id not in sources.done]
    with out, sources, progress("perturb", total=len(todo), unit="problem") as advance:
        for source_id, variants, counts in perturb_parallel(
            todo, args.n, args.seed, args.tries, args.workers
        ):
            for v in variants:
                if v["id"] not in out.done:
                    out.write(v)
            sources.write({"source_id": source_id, "kept": len(variants), "counts": dict(counts)})
            advance(1)
    per_source = [r["kept"] for r in sources.rows]
    reasons: Counter = Counter()
    for r in sources.rows:
        reasons.update(r["counts"])
    reasons.pop("kept", None)
    n_src = len(per_source)
    stats = {
        "sources": n_src,
        "sources_with_variant": sum(1 for k in per_source if k),
        "variants": sum(per_source),
        "yield_per_source": round(sum(per_source) / n_src, 4) if n_src else 0.0,
        "yield_histogram": {str(k): per_source.count(k) for k in range(args.n + 1)},
        "skipped_or_rejected": dict(reasons.most_common()),
    }
    report_stats(stats, _stats_path(args), "GSM8K numeric perturbation")
    return 0
