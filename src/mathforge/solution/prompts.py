"""Prompt templates: how a question (with an optional system prompt and worked examples) becomes the text a
model continues.

Formats: ``plain`` (``Question: ...`` / ``Answer:``, for base models), ``tora`` (ToRA's ``<|user|>`` /
``<|assistant|>`` tags) and ``chat`` (the tokenizer's chat template, for instruct models). System prompts
are a chat thing: ``system="auto"`` gives a chat prompt the mode's own (:data:`SYSTEM_PROMPTS`: how to use
the interpreter in ``tir``, how to answer in ``cot``, what to print in ``pot``) and the other formats none;
``"none"`` gives none; any other text is used as written. Training and evaluation resolve it the same way
(a CoT row gets the ``cot`` prompt, a code-nested row the ``tir`` one), so a model is asked at evaluation
exactly as it was taught.

Worked examples (``shots``: (question, solution) pairs) come before the question: as earlier user and
assistant turns in a chat prompt, as earlier ``Question:``/``Answer:`` blocks otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

TIR_SYSTEM = (
    "You solve math problems by reasoning step by step and running Python code.\n"
    "To compute something, write a Python block that prints the result:\n"
    "```python\nprint(48 / 2)\n```\n"
    "It is run at once and what it prints is shown to you in an output block:\n"
    "```output\n24.0\n```\n"
    "Use the printed results; write more code if you need to. When you know the final answer, write it as "
    "\\boxed{answer} (without units) and stop."
)
COT_SYSTEM = (
    "You solve math problems by reasoning step by step. Show each calculation, then write the final answer "
    "as \\boxed{answer} (without units)."
)
POT_SYSTEM = (
    "You solve math problems by writing one Python program in a ```python block. The program must print the "
    "final answer, and nothing else, on its last line."
)
SYSTEM_PROMPTS = {"tir": TIR_SYSTEM, "cot": COT_SYSTEM, "pot": POT_SYSTEM}
# ToRA's own instruction (its released prompts), for reference and for `system: <text>` recipes
TORA_SYSTEM = (
    "Integrate step-by-step reasoning and Python code to solve math problems using the following guidelines:\n"
    "- Analyze the question and write functions to solve the problem; the function should not take any arguments.\n"
    "- Present the final result in LaTeX using a `\\boxed{}` without any units.\n"
    "- Utilize the `pi` symbol and `Rational`` from Sympy for $\\pi$ and fractions, and simplify all fractions "
    "and square roots without converting them to decimal values.\n"
)


@dataclass(frozen=True)
class PromptFormat:
    """``prefix + question + suffix``; ``chat`` formats go through the tokenizer's chat template."""

    name: str
    prefix: str = ""
    suffix: str = ""
    chat: bool = False


PROMPT_FORMATS: dict[str, PromptFormat] = {
    # base models: the plain question/answer frame
    "plain": PromptFormat("plain", "Question: ", "\nAnswer:\n"),
    # ToRA's tags
    "tora": PromptFormat("tora", "<|user|>\n", "\n<|assistant|>\n"),
    # whatever chat template the tokenizer carries
    "chat": PromptFormat("chat", chat=True),
}
#: what separates a worked example from the next question in a non-chat prompt (and the stop string that
#: keeps a base model from writing the next question itself)
SHOT_SEPARATOR = "\n\n"


def get_prompt_format(name: str | PromptFormat) -> PromptFormat:
    if isinstance(name, PromptFormat):
        return name
    try:
        return PROMPT_FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown prompt format {name!r}; choose from {sorted(PROMPT_FORMATS)}") from None


def system_for(setting: str | None, mode: str, fmt: str | PromptFormat = "chat") -> str | None:
    """The system prompt a setting names for a mode: ``auto`` (the mode's own, chat formats only), ``none``
    (or None: no system prompt), or the text itself."""
    if setting is None or setting == "none":
        return None
    if setting == "auto":
        return SYSTEM_PROMPTS.get(mode) if get_prompt_format(fmt).chat else None
    return setting


def messages(question: str, system: str | None = None, shots: Sequence[tuple[str, str]] = ()) -> list[dict]:
    """The chat messages of a prompt: the system prompt, each worked example as a user/assistant turn, the
    question."""
    out = [{"role": "system", "content": system}] if system else []
    for q, a in shots:
        out += [{"role": "user", "content": q.strip()}, {"role": "assistant", "content": a.strip()}]
    return out + [{"role": "user", "content": question.strip()}]


def build_prompt(
    question: str,
    fmt: str | PromptFormat = "plain",
    tokenizer=None,
    system: str | None = None,
    shots: Sequence[tuple[str, str]] = (),
) -> str:
    """The text the model continues. ``chat`` needs a tokenizer with a chat template."""
    f = get_prompt_format(fmt)
    if not f.chat:
        head = f"{system.strip()}{SHOT_SEPARATOR}" if system else ""
        examples = "".join(f"{f.prefix}{q.strip()}{f.suffix}{a.strip()}{SHOT_SEPARATOR}" for q, a in shots)
        return f"{head}{examples}{f.prefix}{question.strip()}{f.suffix}"
    if tokenizer is None or not tokenizer.chat_template:
        raise ValueError("prompt format 'chat' needs a tokenizer that has a chat template")
    return tokenizer.apply_chat_template(
        messages(question, system, shots), tokenize=False, add_generation_prompt=True
    )
