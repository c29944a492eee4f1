"""Typed training recipes: a base model and a list of stages, each a supervised fine-tuning pass.

Example (YAML)::

    output_dir: runs/two-stage
    base_model: runs/tiny-base          # an HF folder (e.g. from `mathforge init-model`)
    stages:
      - name: cot                       # stage 1: chain-of-thought data
        data: [data/cot.jsonl]
        epochs: 3
      - name: code                      # stage 2: code-nested data, starts from stage 1's output
        data: [data/code.jsonl]         # solution rows (mathforge.rows.SolutionRow): each row's own
        lr: 5.0e-4                      # `format` decides what is masked (interpreter output blocks)

Stage fields left out inherit the recipe's ``defaults`` (itself a partial stage), then the built-in defaults.
:class:`TrainConfig` is the ``mathforge train`` stage config: the recipe plus two run options (``max_steps``
for smoke runs, ``dry_run``); ``mathforge train --config RECIPE.yaml`` reads the recipe from YAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mathforge.config import Config, setting, validate
from mathforge.io import DataError


class LoraConfig(BaseModel):
    """PEFT LoRA settings. The stage output is the merged model; the adapter is kept in ``<stage>/adapter``."""

    model_config = ConfigDict(extra="forbid")
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] | str = "all-linear"
    merge: bool = True  # write the merged full model so the next stage / inference loads a plain checkpoint


class ValueConfig(BaseModel):
    """An ``ovm`` stage: a scalar value head on the backbone, trained on solutions labelled correct or not.

    loss = ``alpha`` x MSE(value of each scored token, the solution's 0/1 outcome) + ``lm_weight`` x the
    next-token loss on the correct solutions. Prompt and interpreter-output tokens are in neither loss.
    """

    model_config = ConfigDict(extra="forbid")
    alpha: float = 1.0
    lm_weight: float = 1.0
    # token: every model-written token (OVM); step: the last token of each step (line) and of the solution;
    # last: the last token only (an outcome reward model)
    targets: Literal["token", "step", "last"] = "token"
    squash: Literal["none", "tanh"] = "none"  # tanh: values in (0, 1) as (1 + tanh(z)) / 2
    affine: bool = False  # a learned gain and bias on the hidden state before the linear head


class StageConfig(BaseModel):
    """One training pass. Rows are ``prompt`` + ``completion`` or ``question`` + ``solution``
    (:class:`~mathforge.rows.SolutionRow`; an ``ovm`` stage reads :class:`~mathforge.rows.ValueRow`)."""

    model_config = ConfigDict(extra="forbid")
    name: str = "sft"
    # sft: next-token loss on the solutions; ovm: an outcome value model (mathforge.train.value)
    type: Literal["sft", "ovm"] = "sft"
    value: ValueConfig = Field(default_factory=ValueConfig)
    data: list[str] = Field(default_factory=list)
    prompt_format: str = "plain"  # how question rows become prompts (mathforge.solution.build_prompt)
    # chat prompts: "auto" = the mode's system prompt (a code row gets the tir one, a CoT row the cot one), as
    # evaluate asks by default; "none"; or the text itself (mathforge.solution.system_for)
    system_prompt: str = "auto"
    # auto: each row is masked by its own `format` (tora fences or mario tags); tora/mario: every code-nested
    # row must be written in that format (a mismatch is an error naming the file, line and field)
    solution_format: Literal["auto", "tora", "mario"] = "auto"
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


class TrainConfig(Config):
    """A base model and a list of SFT stages; each stage starts from the previous one's checkpoint."""

    output_dir: str = setting(help="one folder per stage is written under it (OUTPUT_DIR/<stage>)",
                              io="out", kind="dir")  # fmt: skip
    base_model: str = setting(
        help="the first stage's starting point: an HF folder or hub id", io="in", kind="model"
    )
    defaults: dict = setting({}, "settings every stage inherits (a partial stage)", cli=False)
    stages: list[dict] = setting(
        help="the SFT stages, in order (see mathforge.train.config.StageConfig)", cli=False
    )
    max_steps: int | None = setting(None, "override every stage's max_steps (smoke runs)")
    dry_run: bool = setting(False, "validate the recipe and its data, print the plan, train nothing")

    def resolved_stages(self) -> list[StageConfig]:
        """Stages with ``defaults`` filled in; names made unique so each stage gets its own folder."""
        out, seen = [], set()
        for i, raw in enumerate(self.stages, start=1):
            values = {**self.defaults, **raw}
            if self.max_steps is not None:
                values["max_steps"] = self.max_steps
            stage = StageConfig(**values)
            if stage.name in seen:
                stage.name = f"{stage.name}-{i}"
            seen.add(stage.name)
            out.append(stage)
        return out

    def stage_dirs(self) -> dict[str, str]:
        """Stage name -> its checkpoint folder (what ``@STAGE`` names in a recipe)."""
        return {s.name: str(Path(self.output_dir) / s.name) for s in self.resolved_stages()}

    def paths(self, io):
        found = super().paths(io)
        if io == "in":
            found += [("data", d, "file") for s in self.resolved_stages() for d in s.data]
        else:
            found += [("stage", d, "dir") for d in self.stage_dirs().values()]
        return found

    @field_validator("stages")
    @classmethod
    def _non_empty(cls, value):
        if not value:
            raise ValueError("a recipe needs at least one stage")
        return value

    @model_validator(mode="after")
    def _stages_valid(self):
        self.resolved_stages()  # every stage validated (defaults merged), unknown keys included
        return self

    @classmethod
    def from_yaml(cls, path) -> dict:
        """A training recipe's mapping, or the one ``train`` step of a ``mathforge run`` pipeline."""
        raw = super().from_yaml(path)
        if "stages" not in raw:
            steps = [s["train"] for s in raw.get("steps") or [] if isinstance(s, dict) and "train" in s]
            if "train" in raw:
                steps = [raw["train"]]
            if len(steps) != 1 or not isinstance(steps[0], dict):
                raise DataError(
                    f"expected a training recipe or a pipeline with one train step, found {len(steps)}", path
                )
            raw = steps[0]
        return raw


TrainRecipe = TrainConfig  # the name recipes and older code use


def load_recipe(source: str | Path | dict | TrainConfig) -> TrainConfig:
    """A recipe from a YAML file, a dict or a recipe (relative data/model paths stay relative to cwd)."""
    if isinstance(source, TrainConfig):
        return source
    if isinstance(source, dict):
        return TrainConfig(**source)
    return validate(TrainConfig, TrainConfig.from_yaml(source), path=source)


class InitModelConfig(Config):
    """A BPE tokenizer and a randomly initialised Llama: the offline stand-in for a base model."""

    out: str = setting(help="output folder", io="out", kind="dir")
    size: Literal["tiny", "small"] = setting(
        "tiny", "model size preset: tiny ~1.9M parameters (CPU), small ~98M (GPU)"
    )
    data: list[str] = setting([], "JSONL/JSON files (their text fields) or .txt files to train the tokenizer on",
                              io="in")  # fmt: skip
    vocab_size: int | None = setting(None, "BPE vocabulary size (default: the size preset's)")
    max_texts: int = setting(200_000, "use at most this many texts for the tokenizer")
    seed: int = setting(0, "weight initialisation seed")
