"""The settings of the tool-integrated loop, shared by every stage that runs it (evaluate, ovm data,
self-train): the mode, how many programs a sample may run, how prompts are written."""

from __future__ import annotations

from typing import Literal

from mathforge.config import Config, setting


class LoopConfig(Config):
    """How each sample is generated: its mode, its interpreter budget, its prompt."""

    mode: Literal["tir", "cot", "pot"] = setting(
        "tir",
        "tir: reasoning with executed code until a \\boxed{} answer; cot: text only; pot: one program, its "
        "output is the answer",
        resume=True,
    )
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
