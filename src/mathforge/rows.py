"""The typed rows that cross a seam between stages, and the one way to read and write them.

* :class:`QuestionRow`: augment -> synthesize (a question, its gold if known, where it came from);
* :class:`SolutionRow`: augment / synthesize -> train (a question and one worked solution, with its ``mode``
  (cot or code), its surface ``format`` (tora or mario) and provenance; the trainer masks each row by its
  own format);
* :class:`PredictionRow`: evaluate -> grade / report / viewers (one sample of one problem: transcript,
  executions, extracted answer, verdict);
* :class:`ValueRow`: ovm data -> an ``ovm`` train stage (a sampled solution and whether it was correct).

Rows keep fields they do not declare (provenance differs between producers), so passing a row through a
stage loses nothing. Reading goes through :func:`read_rows`, which names the file, line and field of a bad
row; writing through :func:`write_rows` (whole file, atomic) or :class:`RowLog` (append-only, resumable).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from mathforge.io import DataError, JsonlAppender, read_json_or_jsonl, write_jsonl


def canonical_number(value: float | int) -> str:
    """145.0 -> "145"; 3244047.0999999996 -> "3244047.1" (float noise from the dataset's own programs)."""
    if isinstance(value, bool):
        raise TypeError("bool is not a number")
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    text = format(Decimal(repr(round(float(value), 9))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _gold_text(value: Any) -> Any:
    """A gold written as a JSON number becomes its canonical string; other non-strings stay (and fail)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return canonical_number(value)
    return value


#: an answer or gold: a string, or a JSON number turned into its canonical string (never a list or a bool)
AnswerText = Annotated[str, BeforeValidator(_gold_text)]


class Row(BaseModel):
    """Base of every seam row: extra fields are kept (provenance), declared ones are type-checked."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    def to_json(self) -> dict:
        return self.model_dump(mode="json")


class QuestionRow(Row):
    """A question for synthesis. ``gold`` is None for a new question whose answer a majority vote decides."""

    id: str
    question: str
    gold: AnswerText | None = None
    source_id: str | None = None
    method: str = "original"  # how the question was made: original, rephrase, fobar, numeric_perturbation...
    # how the gold is known: label (the dataset's), same (the source's), masked (the masked value), new (none)
    answer_source: Literal["label", "same", "masked", "new"] = "label"


Mode = Literal["cot", "code"]
Format = Literal["tora", "mario"]
_MARIO_CODE = re.compile(r"<code>.*?</code>", re.S)
_TORA_CODE = re.compile(r"```python[ \t]*\n")


def sniff_format(text: str) -> Format:
    """The surface format a solution is written in: MARIO's tags, else ToRA's fences (also for plain text)."""
    if _MARIO_CODE.search(text) and not _TORA_CODE.search(text):
        return "mario"
    return "tora"


class SolutionRow(Row):
    """One training example: a question (or a ready ``prompt``) and one solution.

    ``mode``: ``cot`` (text only) or ``code`` (code-nested); ``format``: how code and interpreter output are
    written (``tora`` fences or ``mario`` tags), which decides what the trainer masks. Both are inferred from
    the solution when a producer leaves them out, and a declared format that the text contradicts (a row
    that says tora but is written in MARIO's tags) is an error: it would otherwise be trained on its
    interpreter output, silently.
    """

    id: str = ""
    question: str | None = None
    prompt: str | None = (
        None  # a ready prompt; overrides rendering ``question`` with the stage's prompt format
    )
    solution: str = Field(validation_alias=AliasChoices("solution", "completion"))
    format: Format | None = Field(None, validate_default=True)
    mode: Mode | None = Field(None, validate_default=True)
    gold: AnswerText | None = None
    source_id: str | None = None
    method: str | None = None

    @field_validator("solution")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty solution")
        return value

    @field_validator("format")
    @classmethod
    def _format_matches_text(cls, value, info):
        text = info.data.get("solution")
        if text is None:
            return value
        written = sniff_format(text)
        if value is None:
            return written
        if value == "tora" and written == "mario":
            raise ValueError("format is 'tora' but the solution is written in MARIO's tags (<code>, Output:)")
        if value == "mario" and _TORA_CODE.search(text):
            raise ValueError("format is 'mario' but the solution is written in ToRA's fences (```python)")
        return value

    @field_validator("mode")
    @classmethod
    def _mode_from_text(cls, value, info):
        text = info.data.get("solution")
        if value is not None or text is None:
            return value
        return "code" if (_TORA_CODE.search(text) or _MARIO_CODE.search(text)) else "cot"

    @model_validator(mode="after")
    def _has_a_prompt(self) -> SolutionRow:
        if self.question is None and self.prompt is None:
            raise ValueError("a solution row needs 'question' (or a ready 'prompt')")
        return self


class ValueRow(SolutionRow):
    """A sampled solution with its graded outcome: the training data of an outcome value model (``ovm data``
    -> ``train`` stage of type ``ovm``). ``prompt`` is the exact text the generator continued."""

    correct: bool
    problem_id: str = ""
    sample: int = 0
    problem_accuracy: float | None = None  # the share of this problem's samples that were correct


class ExecutionRecord(BaseModel):
    """One program a sample ran: its code, the text the model saw, the sandbox status and time."""

    model_config = ConfigDict(extra="allow")
    code: str
    output: str
    status: str
    duration: float = 0.0
    replaced: int = 0  # characters of the output that were not valid text (shown as U+FFFD)


class PredictionRow(Row):
    """One (problem, sample) of an evaluation, graded.

    ``answer`` is what was extracted from the transcript (None: nothing answer-like); ``grade_status`` is
    ``ok``, ``timeout`` or ``error`` (the grader's), or ``no_answer``.
    """

    id: str
    sample: int = 0
    gold: AnswerText
    dataset: str = ""
    subject: str | None = None
    level: str | None = None
    prompt: str = ""
    mode: str = "tir"
    text: str = ""
    executions: list[ExecutionRecord] = Field(default_factory=list)
    rounds: int = 0
    tokens: int = 0
    finish: str = ""
    answer: AnswerText | None = None
    correct: bool = False
    grade_status: str = "no_answer"
    gen_seconds: float = 0.0
    exec_seconds: float = 0.0
    # the problem's grading options (a tolerance, several answers...: mathforge.answer.GradeOptions), so a
    # re-grade applies the same rule as the evaluation did
    grading: dict | None = None

    @field_validator("level", "subject", mode="before")
    @classmethod
    def _as_text(cls, value):
        return None if value is None else str(value)

    def key(self) -> tuple[str, int]:
        return (self.id, self.sample)


R = TypeVar("R", bound=Row)


def parse_row(row_type: type[R], raw: dict, path, line: int) -> R:
    """``row_type`` from one JSON object; a :class:`DataError` naming file, line and field otherwise."""
    try:
        return row_type.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"]) or None
        msg = (
            "missing required field" if err["type"] == "missing" else err["msg"].removeprefix("Value error, ")
        )
        raise DataError(msg, path, line, field) from None


def read_rows(path: str | Path, row_type: type[R]) -> Iterator[tuple[int, R]]:
    """``(line, row)`` for each row of a JSONL (or JSON list) file, validated as ``row_type``."""
    for line, raw in read_json_or_jsonl(path):
        yield line, parse_row(row_type, raw, path, line)


def write_rows(path: str | Path, rows: Iterable[Row]) -> int:
    """Write rows atomically (the whole file at once); returns the count."""
    return write_jsonl(path, (r.to_json() for r in rows))


class RowLog(Generic[R]):
    """Append-only typed rows that survive ``kill -9`` and resume (see :class:`mathforge.io.JsonlAppender`).

    ``key(row)`` names a row's unit of work; ``done`` holds the keys already written, so a re-run skips them.
    """

    def __init__(self, path: str | Path, row_type: type[R], key: Callable[[R], Hashable]):
        self.path = Path(path)
        self.row_type = row_type
        self._key = key
        self._log = JsonlAppender(self.path, key=self._raw_key)
        self.rows: list[R] = [
            parse_row(row_type, raw, self.path, i + 1) for i, raw in enumerate(self._log.rows)
        ]

    def _raw_key(self, raw: dict):
        return self._key(self.row_type.model_validate(raw))

    @property
    def done(self) -> set:
        return self._log.done

    def append(self, row: R) -> None:
        self._log.write(row.to_json())
        self.rows.append(row)

    def close(self) -> None:
        self._log.close()

    def __enter__(self) -> RowLog[R]:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
