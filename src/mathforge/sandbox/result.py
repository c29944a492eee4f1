"""The outcome of one execution and the text the model sees for it."""

from __future__ import annotations

import re
from dataclasses import dataclass

STATUSES = ("ok", "error", "timeout", "memory", "killed", "truncated")
_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str) -> tuple[str, int]:
    """``text`` with every character that is not valid Unicode text (a lone surrogate, e.g. what
    ``print('\\udcff')`` or undecodable bytes leave) replaced by U+FFFD, and how many there were.

    Such a character cannot be encoded as UTF-8: not into a JSON row, a tokenizer or an HTTP body.
    """
    if text.isascii():
        return text, 0
    try:
        text.encode("utf-8")
        return text, 0
    except UnicodeEncodeError:
        return _SURROGATE.subn("\ufffd", text)


@dataclass
class ExecResult:
    """What one cell produced.

    ``status``: ``ok`` (ran to the end), ``error`` (raised: ``error`` holds the last traceback line),
    ``timeout`` (wall-clock or CPU limit hit; the process group was killed), ``memory`` (MemoryError or
    killed near the memory limit), ``killed`` (the process died some other way, e.g. ``os._exit`` or a
    crash), ``truncated`` (ran to the end but printed more than the output cap; ``stdout`` holds the head).
    ``replaced``: characters of the output that were not valid text (lone surrogates, undecodable bytes
    written to ``sys.stdout.buffer``) and are U+FFFD in ``stdout``/``stderr``/``error``: those are
    always valid text.
    """

    stdout: str
    error: str = ""
    status: str = "ok"
    duration: float = 0.0
    stderr: str = ""
    replaced: int = 0

    @property
    def ok(self) -> bool:
        """The code ran to completion (its stdout may have been capped)."""
        return self.status in ("ok", "truncated")

    def to_dict(self) -> dict:
        return {
            "stdout": self.stdout,
            "error": self.error,
            "status": self.status,
            "duration": self.duration,
            "stderr": self.stderr,
            "replaced": self.replaced,
        }

    @classmethod
    def from_dict(cls, row: dict) -> ExecResult:
        """Build from a dict of any origin (a sandbox reply, a stored row): strings are made valid."""
        status = row.get("status", "killed")
        texts = {}
        replaced = row.get("replaced", 0)
        replaced = replaced if isinstance(replaced, int) and replaced >= 0 else 0
        for name in ("stdout", "error", "stderr"):
            texts[name], n = valid_text(str(row.get(name, "")))
            replaced += n
        try:
            duration = float(row.get("duration", 0.0))
        except (TypeError, ValueError):
            duration = 0.0
        return cls(
            status=status if isinstance(status, str) and status in STATUSES else "killed",
            duration=duration,
            replaced=replaced,
            **texts,
        )


def truncate_middle(text: str, max_chars: int, marker: str = "...") -> str:
    """Keep the head and the tail of ``text`` (half of ``max_chars`` each), as ToRA does."""
    if max_chars <= 0 or len(text) <= max_chars:
        return text
    half = max_chars // 2
    return text[:half] + marker + text[len(text) - half :]


def render(
    result: ExecResult,
    max_chars: int = 400,
    *,
    timeout_text: str = "Timeout Error",
    stdout_with_error: bool = False,
    strip: bool = True,
    marker: str = "...",
) -> str:
    """The text placed in the ```output block after a code cell.

    Default is ToRA's convention: the printed output; if the code failed, the last traceback line
    (e.g. ``NameError: name 'x' is not defined``); on a timeout the literal ``Timeout Error``; the
    result is cut to its first and last ``max_chars // 2`` characters. ``stdout_with_error=True``
    shows what was printed before the failure followed by the error line (MARIO-like).
    """
    out = result.stdout.strip() if strip else result.stdout
    if result.status == "timeout":
        text = f"{out}\n{timeout_text}" if stdout_with_error and out else timeout_text
    elif result.status in ("ok", "truncated"):
        text = out
    else:
        error = result.error or result.status
        text = f"{out}\n{error}" if stdout_with_error and out else error
    return truncate_middle(text, max_chars, marker)
