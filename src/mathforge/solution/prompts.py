"""Prompt templates: how a question is turned into the text a model continues."""

from __future__ import annotations

from dataclasses import dataclass

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


def get_prompt_format(name: str | PromptFormat) -> PromptFormat:
    if isinstance(name, PromptFormat):
        return name
    try:
        return PROMPT_FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown prompt format {name!r}; choose from {sorted(PROMPT_FORMATS)}") from None


def build_prompt(
    question: str, fmt: str | PromptFormat = "plain", tokenizer=None, system: str | None = None
) -> str:
    """The text the model continues. ``chat`` needs a tokenizer with a chat template."""
    f = get_prompt_format(fmt)
    if not f.chat:
        return f"{f.prefix}{question.strip()}{f.suffix}"
    if tokenizer is None or not getattr(tokenizer, "chat_template", None):
        raise ValueError("prompt format 'chat' needs a tokenizer that has a chat template")
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": question.strip()}
    ]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
