"""`mathforge init-model`: a tokenizer + randomly initialised Llama, the offline stand-in for a base model."""

from __future__ import annotations

import argparse
from pathlib import Path

TEXT_FIELDS = ("question", "solution", "prompt", "completion", "text", "problem", "answer")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "init-model",
        help="create a tiny/small random Llama + BPE tokenizer (offline base model)",
        description=(
            "Train a byte-level BPE tokenizer (digits split one per token) on the given text and save a randomly "
            "initialised Llama model in HF format (safetensors, config, tokenizer, chat template). "
            "Sizes: tiny ~1.9M parameters (CPU), small ~98M parameters (GPU)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--size", choices=["tiny", "small"], default="tiny", help="model size preset")
    p.add_argument(
        "--data",
        nargs="*",
        default=[],
        type=Path,
        help=f"JSONL/JSON files (fields {', '.join(TEXT_FIELDS)} are used) or .txt files for the tokenizer",
    )
    p.add_argument(
        "--vocab-size", type=int, default=None, help="BPE vocabulary size (default: the size preset's)"
    )
    p.add_argument(
        "--max-texts", type=int, default=200_000, help="use at most this many texts for the tokenizer"
    )
    p.add_argument("--seed", type=int, default=0, help="weight initialisation seed")
    p.set_defaults(func=run)


def read_texts(paths: list[Path], limit: int) -> list[str]:
    from mathforge.io import DataError, read_json_or_jsonl

    texts: list[str] = []
    for path in paths:
        if path.suffix == ".txt":
            if not path.exists():
                raise DataError("file not found", path)
            texts.extend(line for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        else:
            for _, row in read_json_or_jsonl(path):
                texts.extend(row[f] for f in TEXT_FIELDS if isinstance(row.get(f), str))
        if len(texts) >= limit:
            break
    return texts[:limit]


def run(args) -> int:
    from mathforge.train.init_model import init_model

    texts = read_texts(args.data, args.max_texts)
    out = init_model(args.out, args.size, texts=texts, vocab_size=args.vocab_size, seed=args.seed)
    info = (out / "init_info.json").read_text()
    print(f"wrote {out} ({len(texts)} texts for the tokenizer)\n{info}")
    return 0
