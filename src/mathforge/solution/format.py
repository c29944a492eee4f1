"""Parse and render code-nested solutions (ToRA fences and MARIO tags), both ways."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Code:
    code: str


@dataclass(frozen=True)
class Output:
    output: str


Segment = Text | Code | Output


@dataclass(frozen=True)
class SolutionFormat:
    """Delimiters of one surface format.

    ``code_open`` is what the model writes to start a program; ``output_open`` is the stop string at
    which generation pauses for the interpreter (its opening fence is trained, its content is not).
    """

    name: str
    code_open: str
    code_close: str
    output_open: str
    output_close: str
    text_open: str = ""
    text_close: str = ""

    @property
    def stop(self) -> str:
        """The string that hands control to the interpreter."""
        return self.output_open.rstrip("\n") if self.name == "tora" else self.output_open


TORA = SolutionFormat("tora", "```python\n", "\n```\n", "```output\n", "\n```\n")
MARIO = SolutionFormat("mario", "<code>\n", "\n</code>\n", "Output: ", "\n", "<p>\n", "\n</p>\n")
FORMATS: dict[str, SolutionFormat] = {"tora": TORA, "mario": MARIO}


def get_format(name: str | SolutionFormat) -> SolutionFormat:
    if isinstance(name, SolutionFormat):
        return name
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown solution format {name!r}; choose from {sorted(FORMATS)}") from None


def render(segments: list[Segment], fmt: str | SolutionFormat = "tora") -> str:
    """Segments -> the text a model is trained on / generates."""
    f = get_format(fmt)
    parts: list[str] = []
    for seg in segments:
        if isinstance(seg, Text):
            body = seg.text.strip("\n")
            if f.text_open:
                parts.append(f"{f.text_open}{body}{f.text_close}")
            else:
                parts.append(body + "\n")
        elif isinstance(seg, Code):
            parts.append(f"{f.code_open}{seg.code.strip(chr(10))}{f.code_close}")
        elif isinstance(seg, Output):
            out = seg.output.strip("\n")
            if f.name == "mario":
                out = out.replace("\n", "\\n")  # one Output: line per execution
            parts.append(f"{f.output_open}{out}{f.output_close}")
        else:  # pragma: no cover - type guard
            raise TypeError(f"not a segment: {seg!r}")
    return "".join(parts).rstrip("\n")


# a closing fence is a line that is exactly ``` (so backticks inside output text do not end the block)
_TORA_BLOCK = re.compile(
    r"```(python|output)[ \t]*\n(.*?)(?:^|\n)```[ \t]*(?:\n|$)", re.DOTALL | re.MULTILINE
)
_TORA_OUTPUT_OPEN = re.compile(r"```output[ \t]*\n")
_TORA_CLOSE = re.compile(r"\n```[ \t]*(?:\n|$)")
_MARIO_BLOCK = re.compile(
    r"<p>\n?(.*?)\n?</p>\n?|<code>\n?(.*?)\n?</code>\n?|Output: (.*?)(?:\n|$)", re.DOTALL
)


def parse(text: str, fmt: str | SolutionFormat = "tora") -> list[Segment]:
    """Text -> segments. Unterminated blocks stay text (a generation cut mid-block is not code)."""
    f = get_format(fmt)
    segments: list[Segment] = []
    if f.name == "tora":
        pos = 0
        for m in _TORA_BLOCK.finditer(text):
            _add_text(segments, text[pos : m.start()])
            kind, body = m.group(1), m.group(2)
            segments.append(Code(body) if kind == "python" else Output(body))
            pos = m.end()
        _add_text(segments, text[pos:])
    else:
        pos = 0
        for m in _MARIO_BLOCK.finditer(text):
            _add_text(segments, text[pos : m.start()])
            if m.group(1) is not None:
                _add_text(segments, m.group(1))
            elif m.group(2) is not None:
                segments.append(Code(m.group(2)))
            else:
                segments.append(Output(m.group(3).replace("\\n", "\n")))
            pos = m.end()
        _add_text(segments, text[pos:])
    return segments


def _add_text(segments: list[Segment], chunk: str) -> None:
    chunk = chunk.strip("\n")
    if chunk.strip():
        segments.append(Text(chunk))


def output_spans(text: str, fmt: str | SolutionFormat = "tora") -> list[tuple[int, int]]:
    """Character spans that the *interpreter* wrote, to be masked out of the training loss.

    For ToRA fences a span starts right after ```` ```output\\n```` (the opening fence is the stop
    string and stays trained) and runs through the closing fence and its newline. For MARIO it is the
    content after ``Output: `` through the end of line.
    """
    f = get_format(fmt)
    spans: list[tuple[int, int]] = []
    if f.name == "tora":
        pos = 0
        while (m := _TORA_OUTPUT_OPEN.search(text, pos)) is not None:
            start = m.end()
            close = _TORA_CLOSE.search(text, start - 1)  # start-1: an empty block closes at once
            end = close.end() if close else len(text)
            spans.append((start, end))
            pos = end
    else:
        for m in re.finditer(r"Output: ", text):
            nl = text.find("\n", m.end())
            spans.append((m.end(), len(text) if nl == -1 else nl + 1))
    return spans


def last_code(text: str, fmt: str | SolutionFormat = "tora") -> str | None:
    """The code of the final segment if the text ends in a (complete) code block, else None."""
    segs = parse(text, fmt)
    if segs and isinstance(segs[-1], Code):
        return segs[-1].code
    return None


def answer_end(text: str, fmt: str | SolutionFormat = "tora") -> int | None:
    """Where a transcript should end: just after the line that holds the first complete ``\\boxed{}`` in
    the prose (not in code or its output); None when there is no such answer.

    An instruct model often goes on after its answer (another code block, a second guess); the
    tool-integrated loop cuts the completion here so the transcript, and what is graded, ends at the answer.
    """
    from mathforge.solution.boxed import box_end

    f = get_format(fmt)
    blocks = (
        _TORA_BLOCK if f.name == "tora" else re.compile(r"<code>.*?</code>|Output: .*?(?:\n|$)", re.DOTALL)
    )
    fenced = [(m.start(), m.end()) for m in blocks.finditer(text)]
    for m in re.finditer(r"\\(?:boxed|fbox)(?![a-zA-Z])", text):
        if any(a <= m.start() < b for a, b in fenced):
            continue
        close = box_end(text, m.end())
        if close is None:
            continue
        nl = text.find("\n", close)
        return len(text) if nl == -1 else nl + 1
    return None
