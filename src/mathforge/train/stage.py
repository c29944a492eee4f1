"""The stages of this package in the registry: ``init-model`` and ``train``."""

from mathforge.registry import Stage
from mathforge.train.config import InitModelConfig, TrainConfig

STAGES = [
    Stage(
        "init-model",
        InitModelConfig,
        run="mathforge.train.init_stage:run",
        report="mathforge.train.init_stage:report",
        help="create a tiny/small random Llama + BPE tokenizer (offline base model)",
        description="Train a byte-level BPE tokenizer (digits split one per token) on the given text and save "
        "a randomly initialised Llama in HF format (safetensors, config, tokenizer, chat template).",
    ),
    Stage(
        "train",
        TrainConfig,
        run="mathforge.train.stages:run",
        report="mathforge.train.stages:report",
        help="supervised fine-tuning in stages (TRL); stage N starts from stage N-1",
        description="Run a training recipe (`--config RECIPE.yaml`): a base model and a list of stages. Each "
        "stage writes an HF checkpoint and train_summary.json (loss curve, tokens seen, tokens/s) under "
        "OUTPUT_DIR/<stage>/. Prompt tokens and interpreter outputs (by each row's own format) are masked from "
        "the loss. A re-run skips finished stages and resumes an interrupted one from its last checkpoint.\n"
        "Multi-GPU/CPU: `accelerate launch --config_file recipes/accelerate/<cfg>.yaml -m mathforge.cli train "
        "--config ...`.",
    ),
]
