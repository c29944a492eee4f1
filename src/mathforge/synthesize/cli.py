"""`mathforge synthesize`: CoT and code-nested solutions from a teacher, filtered, deduplicated, decontaminated."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    from mathforge.augment.teacher_cli import add_backend_args

    p = subparsers.add_parser(
        "synthesize",
        help="k CoT + k code-nested solutions per question from a teacher LLM, then filters "
        "(answer check / majority vote, dedup, test-set decontamination)",
        description="Synthesize solutions with a teacher behind an OpenAI-compatible server. Code-nested "
        "paths run in the sandbox through the tool-integrated loop (the teacher may fix its code after an "
        "error). Questions with a known answer are filtered by it; new ones (gold null) by majority vote.",
    )
    p.add_argument("--questions", default="gsm8k",
                   help="augment output JSONL (gold may be null), a dataset name or a problem file (default: gsm8k)")  # fmt: skip
    p.add_argument("--split", default="train", help="split, for a dataset name (default: train)")
    p.add_argument("--data-dir", help="data folder: datasets and the test sets to decontaminate against")
    p.add_argument("--limit", type=int, help="only the first N questions")
    p.add_argument("--k-cot", type=int, default=4, help="CoT samples per question (default: 4)")
    p.add_argument("--k-code", type=int, default=4, help="code-nested samples per question (default: 4)")
    p.add_argument("--max-rounds", type=int, default=4, help="code executions per code path (default: 4)")
    p.add_argument("--min-agreement", type=float, default=0.5,
                   help="new questions: the majority answer needs this share of the votes (default: 0.5)")  # fmt: skip
    p.add_argument("--ngram", type=int, default=13, help="decontamination n-gram size in words (default: 13)")
    p.add_argument("--no-decontaminate", action="store_true", help="skip the test-set overlap filter")
    p.add_argument("--prompt-style", choices=["teacher", "plain", "tora"], default="teacher",
                   help="teacher: the packaged instruction prompts (default); plain/tora: a trained model's "
                   "prompt format (e.g. to sample a fine-tuned model, RFT style)")  # fmt: skip
    p.add_argument("--sandbox-workers", type=int, default=None, help="sandbox processes (default: CPU count)")
    p.add_argument("--out", default="out/synthesize/solutions.jsonl", help="filtered output JSONL")
    p.add_argument("--stats", help="stats JSON (default: <out>.stats.json)")
    add_backend_args(p, "out/cache/synthesize.sqlite")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mathforge.answer import Grader
    from mathforge.augment.stats import report_stats
    from mathforge.augment.teacher_cli import cached_backend
    from mathforge.io import JsonlAppender, progress, write_jsonl
    from mathforge.llm import GenParams
    from mathforge.sandbox import Sandbox
    from mathforge.synthesize.filters import test_set_index
    from mathforge.synthesize.synth import (
        filter_samples,
        generate_code,
        generate_cot,
        load_questions,
        sample_key,
    )

    questions = load_questions(args.questions, split=args.split, data_dir=args.data_dir, limit=args.limit)
    params = GenParams(max_tokens=args.max_tokens, temperature=args.temperature, top_p=args.top_p,
                       seed=args.seed)  # fmt: skip
    backend = cached_backend(args)
    samples = JsonlAppender(Path(args.out).with_suffix(".samples.jsonl"), key=sample_key)
    try:
        with samples:
            if args.k_cot > 0:
                with progress("CoT paths", total=len(questions), unit="question") as advance:
                    generate_cot(questions, backend, params, args.k_cot, samples, advance, args.prompt_style)
            if args.k_code > 0:
                with (
                    Sandbox(workers=args.sandbox_workers) as sandbox,
                    progress("code paths", total=len(questions), unit="question") as advance,
                ):
                    generate_code(questions, backend, params, args.k_code, samples, sandbox, args.max_rounds,
                                  advance, args.prompt_style)  # fmt: skip
            all_samples = list(samples.rows)
        index, test_counts = (
            (None, {}) if args.no_decontaminate else test_set_index(args.data_dir, args.ngram)
        )
        with Grader(workers=2, timeout=5) as grader:
            kept, removed = filter_samples(questions, all_samples, grader, args.min_agreement, index)
        write_jsonl(args.out, kept)
        stats = {
            "questions": len(questions),
            "samples": len(all_samples),
            "kept": len(kept),
            "kept_cot": sum(1 for r in kept if r["mode"] == "cot"),
            "kept_code": sum(1 for r in kept if r["mode"] == "code"),
            "kept_self_debug": sum(1 for r in kept if r["self_debug"]),
            "questions_with_a_solution": len({r["qid"] for r in kept}),
            "removed": removed,
            "decontamination": {"ngram": args.ngram, "test_questions": test_counts},
            **backend.stats(),
        }
    finally:
        backend.close()
    report_stats(stats, Path(args.stats) if args.stats else Path(args.out).with_suffix(".stats.json"),
                 "solution synthesis")  # fmt: skip
    return 0
