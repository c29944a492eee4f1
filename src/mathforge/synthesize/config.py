"""The settings of ``mathforge synthesize``."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from mathforge.answer.config import GraderConfig
from mathforge.config import redefault, setting
from mathforge.data.config import ProblemsConfig
from mathforge.llm.config import BackendConfig, SamplingConfig
from mathforge.sandbox.config import SandboxConfig
from mathforge.shard import ShardConfig
from mathforge.stage_output import OutputConfig


class SynthesizeConfig(
    ProblemsConfig, BackendConfig, SamplingConfig, SandboxConfig, GraderConfig, OutputConfig, ShardConfig
):
    """k CoT and k code-nested solutions per question from a teacher, then the filters."""

    dataset: str = redefault(ProblemsConfig, "dataset", "gsm8k")
    split: str = redefault(ProblemsConfig, "split", "train")
    k_cot: int = setting(4, "CoT samples per question", ge=0)
    k_code: int = setting(4, "code-nested samples per question", ge=0)
    max_rounds: int = setting(4, "code executions per code-nested path", ge=0)
    min_agreement: float = setting(
        0.5, "new questions (gold null): the majority answer needs this share of the votes"
    )
    ngram: int = setting(13, "decontamination n-gram size, in words", ge=1)
    decontaminate: bool = setting(
        True, "drop questions that share an n-gram with a test set in the data folder"
    )
    prompt_style: Literal["teacher", "plain", "tora"] = setting(
        "teacher",
        "teacher: the packaged instruction prompts; plain/tora: a trained model's prompt format (e.g. to sample "
        "a fine-tuned model, RFT style)",
    )
    out: str = redefault(OutputConfig, "out", "out/synthesize/solutions.jsonl")
    api: Literal["completions", "chat"] = redefault(BackendConfig, "api", "chat")
    concurrency: int = redefault(BackendConfig, "concurrency", 8)
    cache: str | None = redefault(BackendConfig, "cache", "out/cache/synthesize.sqlite")
    temperature: float = redefault(SamplingConfig, "temperature", 0.7)

    @model_validator(mode="after")
    def _needs_a_model(self):
        if not self.model:
            raise ValueError("synthesis needs --model (with --base-url for a teacher server)")
        return self
