"""The settings of ``mathforge augment code|audit|perturb|teacher``, one config per stage."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator, model_validator

from mathforge.config import redefault, setting
from mathforge.data.config import ProblemsConfig
from mathforge.llm.config import BackendConfig, SamplingConfig
from mathforge.sandbox.config import SandboxConfig
from mathforge.shard import ShardConfig
from mathforge.stage_output import OutputConfig


class GSM8KSource(ProblemsConfig):
    """The LLM-free stages read GSM8K-format problems (a question and a rationale ending in ``#### X``)."""

    dataset: str = redefault(ProblemsConfig, "dataset", "gsm8k")
    split: str = redefault(ProblemsConfig, "split", "train")

    def load_gsm8k(self) -> list:
        from mathforge.augment.pipeline import load_gsm8k

        return load_gsm8k(self.dataset, split=self.split, limit=self.limit, data_dir=self.data_dir)


class AugmentCodeConfig(GSM8KSource, SandboxConfig, OutputConfig, ShardConfig):
    """GSM8K calculator chains -> code-nested (ToRA) solutions, kept only if their execution gives the gold."""

    out: str = redefault(OutputConfig, "out", "out/augment/gsm8k_code.jsonl")
    sandbox_timeout: float = redefault(SandboxConfig, "sandbox_timeout", 10.0)


class AugmentAuditConfig(GSM8KSource, OutputConfig):
    """GSM8K label audit: wrong arithmetic in the rationale, chains that miss the #### answer."""

    out: str = redefault(OutputConfig, "out", "out/augment/gsm8k_audit.jsonl")


class AugmentPerturbConfig(GSM8KSource, OutputConfig, ShardConfig):
    """Numeric perturbation: new numbers, the chain re-executed, the new gold computed."""

    out: str = redefault(OutputConfig, "out", "out/augment/gsm8k_perturbed.jsonl")
    n: int = setting(4, "variants per source problem", ge=1)
    seed: int = setting(0, "base seed; each variant is seeded by (seed, id, k)")
    tries: int | None = setting(None, "draws per source problem (default: 10 x n)")
    workers: int = setting(1, "processes", ge=1)


class AugmentRationaleConfig(ProblemsConfig, OutputConfig, ShardConfig):
    """Stage-1 CoT rows from a dataset's own worked solutions (GSM8K rationales, MATH solutions)."""

    dataset: str = redefault(ProblemsConfig, "dataset", "gsm8k")
    split: str = redefault(ProblemsConfig, "split", "train")
    out: str = redefault(OutputConfig, "out", "out/augment/gsm8k_cot.jsonl")


class AugmentTeacherConfig(ProblemsConfig, BackendConfig, SamplingConfig, OutputConfig, ShardConfig):
    """New questions from a teacher LLM behind an OpenAI-compatible server."""

    dataset: str = redefault(ProblemsConfig, "dataset", "gsm8k")
    split: str = redefault(ProblemsConfig, "split", "train")
    methods: list[str] = setting(
        ["rephrase", "fobar"],
        "augmentation methods (comma- or space-separated); 'mugglemath' = MuggleMath's five evolutions, "
        "'all' = every method",
    )
    n: int = setting(1, "replies per (problem, method)", ge=1)
    prompt_dir: str | None = setting(None, "folder of <method>.v<N>.txt prompt files (default: the packaged ones)",
                                     io="in", kind="dir")  # fmt: skip
    out: str = redefault(OutputConfig, "out", "out/augment/teacher.jsonl")
    api: Literal["completions", "chat"] = redefault(BackendConfig, "api", "chat")
    concurrency: int = redefault(BackendConfig, "concurrency", 8)
    cache: str | None = redefault(BackendConfig, "cache", "out/cache/teacher.sqlite")
    temperature: float = redefault(SamplingConfig, "temperature", 0.7)

    @field_validator("methods", mode="before")
    @classmethod
    def _expand(cls, value):
        from mathforge.augment.teacher import METHODS, MUGGLEMATH

        items = value.split(",") if isinstance(value, str) else [x for v in value for x in str(v).split(",")]
        out: list[str] = []
        for m in (x.strip() for x in items if x.strip()):
            out += list(METHODS) if m == "all" else MUGGLEMATH if m == "mugglemath" else [m]
        unknown = [m for m in out if m not in METHODS]
        if unknown:
            raise ValueError(
                f"unknown method(s) {unknown}; choose from {', '.join(METHODS)}, mugglemath, all"
            )
        return list(dict.fromkeys(out))

    @model_validator(mode="after")
    def _needs_a_server(self):
        if not self.served() or not self.model:
            raise ValueError("a teacher needs --base-url URL and --model NAME (an OpenAI-compatible server)")
        return self
