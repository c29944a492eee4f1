"""Typed training recipes: a base model and a list of stages, each a supervised fine-tuning pass.

Example (YAML)::

    output_dir: runs/two-stage
    base_model: runs/tiny-base          # an HF folder (e.g. from `mathforge init-model`)
    stages:
      - name: cot                       # stage 1: chain-of-thought data
        data: [data/cot.jsonl]
        epochs: 3
      - name: code                      # stage 2: code-nested data, starts from stage 1's output
        data: [data/code.jsonl]
        solution_format: tora           # output blocks are masked from the loss
        lr: 5.0e-4

Stage fields left out inherit the recipe's ``defaults`` (itself a partial stage), then the built-in defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class LoraConfig(BaseModel):
    """PEFT LoRA settings. The stage output is the merged model; the adapter is kept in ``<stage>/adapter``."""

    model_config = ConfigDict(extra="forbid")
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] | str = "all-linear"
    merge: bool = True  # write the merged full model so the next stage / inference loads a plain checkpoint


class StageConfig(BaseModel):
    """One SFT pass. Rows are ``prompt`` + ``completion`` or ``question`` + ``solution``."""

    model_config = ConfigDict(extra="forbid")
    name: str = "sft"
    data: list[str] = Field(default_factory=list)
    prompt_format: str = "plain"  # how question rows become prompts (mathforge.solution.build_prompt)
    solution_format: Literal["tora", "mario"] = "tora"
    mask_outputs: bool = True  # mask interpreter outputs (no-op on data without output blocks)
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    lr: float = 2e-5
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    batch_size: int = 8  # per device: samples per step, or packed rows with packing_strategy=bfd
    grad_accum: int = 1
    max_length: int = 1024
    # packing never lets samples attend to each other: position_ids restart at 0 for every sample and the
    # attention kernels derive per-sample (block-diagonal) masks from them.
    #   bfd:     TRL best-fit-decreasing bins of max_length tokens; batch_size counts bins
    #   flatten: each batch of batch_size samples is concatenated into one row (no bins)
    packing: bool = True
    packing_strategy: Literal["bfd", "flatten"] = "bfd"
    # None: with packing, mathforge's per-sample SDPA (mathforge.train.attention), else the model's default.
    # On GPUs with flash-attn installed, "flash_attention_2" is the fastest choice for packed rows.
    attn_implementation: str | None = None
    gradient_checkpointing: bool = False
    bf16: bool | Literal["auto"] = "auto"  # auto: on when a CUDA GPU with bf16 support is present
    lora: LoraConfig | None = None
    save_steps: int = 500
    save_total_limit: int | None = 2
    logging_steps: int = 10
    seed: int = 0
    limit: int | None = None  # use only the first N rows (smoke runs)

    @field_validator("data", mode="before")
    @classmethod
    def _one_or_many(cls, value):
        return [value] if isinstance(value, str) else value


class TrainRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    output_dir: str
    base_model: str
    defaults: dict = Field(default_factory=dict)
    stages: list[dict]

    def resolved_stages(self) -> list[StageConfig]:
        """Stages with ``defaults`` filled in; names made unique so each stage gets its own folder."""
        out, seen = [], set()
        for i, raw in enumerate(self.stages, start=1):
            stage = StageConfig(**{**self.defaults, **raw})
            if stage.name in seen:
                stage.name = f"{stage.name}-{i}"
            seen.add(stage.name)
            out.append(stage)
        return out

    @field_validator("stages")
    @classmethod
    def _non_empty(cls, value):
        if not value:
            raise ValueError("a recipe needs at least one stage")
        return value


def load_recipe(source: str | Path | dict | TrainRecipe) -> TrainRecipe:
    """A recipe from a YAML file, a dict or a recipe (relative data/model paths stay relative to cwd)."""
    if isinstance(source, TrainRecipe):
        return source
    if isinstance(source, dict):
        return TrainRecipe(**source)
    import yaml

    from mathforge.io import DataError

    path = Path(source)
    if not path.exists():
        raise DataError("recipe not found", path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(raw, dict) and "stages" not in raw:  # a `mathforge run` pipeline: use its train step
        steps = [s["train"] for s in raw.get("steps") or [] if isinstance(s, dict) and "train" in s]
        if "train" in raw:
            steps = [raw["train"]]
        if len(steps) != 1:
            raise DataError(
                f"expected a training recipe or a pipeline with one train step, found {len(steps)}", path
            )
        raw = steps[0]
    if not isinstance(raw, dict):
        raise DataError("a training recipe must be a mapping", path)
    try:
        return TrainRecipe(**raw)
    except Exception as exc:  # pydantic.ValidationError: name the file
        raise DataError(f"invalid training recipe: {exc}", path) from None
