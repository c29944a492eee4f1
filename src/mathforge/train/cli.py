"""`mathforge train --config RECIPE.yaml`: staged SFT (e.g. stage 1 CoT, stage 2 code-nested)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="supervised fine-tuning in stages (TRL); stage N starts from stage N-1",
        description=(
            "Run a training recipe: a base model and a list of stages. Each stage writes an HF checkpoint and "
            "train_summary.json (loss curve, tokens seen, tokens/s) under OUTPUT_DIR/<stage>/. Prompt tokens and, "
            "for code-nested data, interpreter outputs are masked from the loss. A re-run skips finished stages "
            "and resumes an interrupted one from its last checkpoint. Multi-GPU/CPU: "
            "`accelerate launch --config_file recipes/accelerate/<cfg>.yaml -m mathforge.cli train --config ...`."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--config", required=True, type=Path, help="recipe YAML (see mathforge.train.config)")
    p.add_argument("--output-dir", default=None, help="override the recipe's output_dir")
    p.add_argument("--base-model", default=None, help="override the recipe's base_model")
    p.add_argument(
        "--max-steps", type=int, default=None, help="override every stage's max_steps (smoke runs)"
    )
    p.add_argument(
        "--dry-run", action="store_true", help="validate the recipe and data, print the plan, train nothing"
    )
    p.set_defaults(func=run)


def run(args) -> int:
    import logging

    from mathforge.train.config import load_recipe

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    recipe = load_recipe(args.config)
    if args.output_dir:
        recipe.output_dir = args.output_dir
    if args.base_model:
        recipe.base_model = args.base_model
    if args.max_steps is not None:
        recipe.stages = [{**stage, "max_steps": args.max_steps} for stage in recipe.stages]
    if args.dry_run:
        return _plan(recipe)
    from mathforge.train.stages import train

    for path in train(recipe):
        print(path)
    return 0


def _plan(recipe) -> int:
    from mathforge.train.data import load_pairs

    source = recipe.base_model
    for stage in recipe.resolved_stages():
        pairs = (
            load_pairs(stage.data, stage.prompt_format, stage.limit) if stage.prompt_format != "chat" else []
        )
        print(
            f"stage {stage.name}: {source} -> {Path(recipe.output_dir) / stage.name}  rows={len(pairs)} "
            f"epochs={stage.epochs} max_steps={stage.max_steps} lr={stage.lr} packing={stage.packing} "
            f"lora={'yes' if stage.lora else 'no'}"
        )
        source = str(Path(recipe.output_dir) / stage.name)
    return 0
