"""Pull the final answer out of a model's full output.

Order (first rule that finds something wins):
1. the last ``\\boxed{}`` / ``\\fbox{}`` in the prose (outside any fenced block);
2. the last "The answer is ..." / "Final Answer: ..." in the prose;
3. the content of the last ```` ```output ```` block (what the interpreter printed);
4. the last number in the prose and output blocks.
Code inside ```` ```python ```` (or any non-output fence) is never read: a model that writes
``print(42)`` has not answered 42 until the interpreter says so.
"""

from __future__ import annotations

import re

from mathforge.answer.normalize import strip_wrappers
from mathforge.solution.boxed import last_boxed

# a fenced block: ```lang\n ... ``` (an unterminated block runs to the end of the text)
_FENCE_RE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n?(.*?)(?:```|\Z)", re.S)
_ANSWER_RE = re.compile(
    r"(?:final\s+answer\s*(?:is)?\s*(?:\*\*)?\s*[:：]?\s*(?:\*\*)?|the\s+(?:final\s+)?answer\s+is\s*[:：]?)\s*(.+)",
    re.I,
)
_NUMBER_RE = re.compile(r"-?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:\s*/\s*\d+)?")
_TRAILERS_RE = re.compile(r"\s*(?:\.\s*)?(?:I hope it is correct\.?)?\s*$", re.I)


def split_fences(text: str) -> tuple[str, list[str]]:
    """Return (prose with every fenced block removed, list of ```output block contents in order)."""
    prose_parts: list[str] = []
    outputs: list[str] = []
    last = 0
    for m in _FENCE_RE.finditer(text):
        prose_parts.append(text[last : m.start()])
        if m.group(1).lower() == "output":
            outputs.append(m.group(2))
        prose_parts.append("\n")
        last = m.end()
    prose_parts.append(text[last:])
    return "".join(prose_parts), outputs


def extract_answer(text: str | None) -> str | None:
    """The final answer in ``text`` as a string, or ``None`` when nothing answer-like is found."""
    if not text:
        return None
    prose, outputs = split_fences(text)

    boxed = last_boxed(prose)
    if boxed:
        return boxed

    stated = _last_stated_answer(prose)
    if stated:
        return stated

    for out in reversed(outputs):
        lines = [ln.strip() for ln in out.strip().splitlines() if ln.strip()]
        if lines:  # a program that prints "The answer is 10" answered 10
            return _last_stated_answer(lines[-1]) or lines[-1]

    numbers = _NUMBER_RE.findall(prose + "\n" + "\n".join(outputs))
    if numbers:
        return re.sub(r"[,\s]", "", numbers[-1])
    return None


def _last_stated_answer(prose: str) -> str | None:
    matches = list(_ANSWER_RE.finditer(prose))
    for m in reversed(matches):
        answer = m.group(1).strip()
        # "Final Answer: The final answer is $5$. I hope it is correct." -> inner statement wins
        inner = _ANSWER_RE.search(answer)
        if inner:
            answer = inner.group(1).strip()
        answer = _TRAILERS_RE.sub("", answer)
        # markdown bold around the answer ("**73**", Math-Verify#76); a lone "*" never ends a math answer
        answer = re.sub(r"^\*+|\*+$", "", strip_wrappers(answer.strip().rstrip(".").strip())).strip()
        dollar = re.match(r"\$+([^$]+)\$+", answer.strip())
        answer = dollar.group(1) if dollar else answer.strip().strip("$")
        answer = re.sub(r"^\\\(|\\\)$", "", answer).strip()
        answer = answer.rstrip(".").strip()
        if answer:
            return answer
    return None
