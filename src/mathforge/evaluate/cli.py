"""``mathforge evaluate``: run a model over a benchmark with the interpreter in the loop, then grade."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="run a model on a benchmark (tir/cot/pot), grade it, write predictions, metrics and a report",
        description=(
            "Evaluate a model. In-process: --model PATH (any from_pretrained folder). Over HTTP (vLLM, SGLang, "
            "`transformers serve`): --base-url URL --model NAME. Writes OUT/predictions.jsonl (one row per "
            "sample, appended as samples finish; rerunning resumes), OUT/metrics.json and OUT/report.md."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--model", required=True, help="model folder (in-process) or served model name (with --base-url)"
    )
    p.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--dataset", help="dataset name known to mathforge.data (gsm8k, math, math500, svamp, ...)"
    )
    src.add_argument("--data", help="a JSONL/JSON file of problems")
    p.add_argument("--split", default="test", help="dataset split")
    p.add_argument("--limit", type=int, help="evaluate only the first N problems")
    p.add_argument(
        "--mode",
        choices=["tir", "cot", "pot"],
        default="tir",
        help="tir: reasoning with executed code; cot: text only; pot: one program, its output is the answer",
    )
    p.add_argument("--n", type=int, default=1, help="samples per problem (maj@k and pass@k when > 1)")
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    p.add_argument("--max-rounds", type=int, default=4, help="most code executions per sample")
    p.add_argument(
        "--prompt-format",
        choices=["plain", "tora", "chat"],
        default="plain",
        help="plain Question:/Answer:, ToRA <|user|>/<|assistant|>, or the tokenizer's chat template",
    )
    p.add_argument("--out", default="runs/eval", help="output folder")
    p.add_argument("--data-dir", help="datasets folder (default: $MATHFORGE_DATA_DIR)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=16,
        help="sequences per forward batch (in-process) or requests in flight (HTTP)",
    )
    p.add_argument("--max-tokens", type=int, default=512, help="max new tokens per generation call")
    p.add_argument("--workers", type=int, help="sandbox and grader processes (default: CPU count / 4)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed")
    p.set_defaults(func=run)


def run(args) -> int:
    from mathforge.evaluate.run import evaluate

    m = evaluate(
        model=args.model,
        base_url=args.base_url,
        dataset=args.dataset,
        data=args.data,
        split=args.split,
        limit=args.limit,
        mode=args.mode,
        n=args.n,
        temperature=args.temperature,
        max_rounds=args.max_rounds,
        prompt_format=args.prompt_format,
        out=args.out,
        data_dir=args.data_dir,
        batch_size=args.batch_size,
        max_tokens=args.max_tokens,
        workers=args.workers,
        seed=args.seed,
    )
    scores = "  ".join(
        f"{k}={100 * v:.1f}%" for k, v in m.items() if k == "accuracy" or k.startswith(("maj@", "pass@"))
    )
    t = m["timing"]
    print(f"{m['problems']} problems, {m['samples']} samples: {scores}")
    print(
        f"{t['samples_this_run']} new samples in {t['wall_seconds']:.1f}s ({t['tokens_per_second']:.0f} tok/s); "
        f"wrote {args.out}/predictions.jsonl, metrics.json, report.md"
    )
    return 0
