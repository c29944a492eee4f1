"""Every setting of ``mathforge evaluate`` and ``mathforge grade`` (and of their recipe steps), declared once."""

from __future__ import annotations

from typing import Literal

from mathforge.answer.config import GraderConfig
from mathforge.config import redefault, setting
from mathforge.data.config import ProblemsConfig
from mathforge.llm.config import BackendConfig, SamplingConfig
from mathforge.sandbox.config import SandboxConfig


class EvaluateConfig(ProblemsConfig, BackendConfig, SamplingConfig, SandboxConfig, GraderConfig):
    """Run a model over problems with the interpreter in the loop, grade every sample, write a report.

    Outputs in ``out``: ``config.json`` (these settings), ``predictions.jsonl`` (one row per sample, appended
    as samples finish: a killed run resumes where it stopped), ``metrics.json`` and ``report.md``.
    """

    mode: Literal["tir", "cot", "pot"] = setting(
        "tir",
        "tir: reasoning with executed code until a \\boxed{} answer; cot: text only; pot: one program, its "
        "output is the answer",
        resume=True,
    )
    n: int = setting(1, "samples per problem (maj@k and pass@k when > 1)", ge=1)
    max_rounds: int = setting(4, "most code executions per sample (ToRA: 4)", ge=0, resume=True)
    prompt_format: Literal["plain", "tora", "chat"] = setting(
        "plain",
        "plain Question:/Answer:, ToRA's <|user|>/<|assistant|> tags, or the tokenizer's chat template",
        resume=True,
    )
    solution_format: Literal["tora", "mario"] = setting(
        "tora", "how code and its output are written: ToRA fences or MARIO tags", resume=True
    )
    system_prompt: str = setting(
        "auto",
        "chat prompts: auto (the mode's own: how to use the interpreter for tir, how to answer for cot/pot), "
        "none, or the text itself",
        resume=True,
    )
    few_shot: int = setting(0, "worked examples before each question (drawn from a train split, never the test)",
                            ge=0, resume=True)  # fmt: skip
    few_shot_dataset: str = setting("gsm8k", "the dataset whose train split gives the examples", resume=True)
    few_shot_file: str | None = setting(
        None,
        "solution rows to draw the examples from instead (cot rows for cot, code rows for tir/pot)",
        io="in",
        resume=True,
    )
    out: str = setting("runs/eval", "output folder", io="out", kind="dir")
    grade_timeout: float = redefault(GraderConfig, "grade_timeout", 10.0)


class GradeConfig(ProblemsConfig, GraderConfig):
    """Grade a predictions file against gold answers."""

    file: str = setting(help="predictions JSONL: an evaluate run's predictions.jsonl or a foreign file",
                        io="in", positional=True)  # fmt: skip
    out: str = setting(
        help="output folder for graded.jsonl, metrics.json and report.md", io="out", kind="dir"
    )
    dataset: str | None = redefault(ProblemsConfig, "dataset", None)
