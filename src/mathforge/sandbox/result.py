"""The outcome of one execution and the text the model sees for it."""

from __future__ import annotations

from dataclasses import dataclass

STATUSES = ("ok", "error", "timeout", "memory", "killed", "truncated")


@dataclass
class ExecResult:
    """What one cell produced.

    ``status``: ``ok`` (ran to the end), ``error`` (raised: ``error`` holds the last traceback line),
    ``timeout`` (wall-clock or CPU limit hit; the process group was killed), ``memory`` (MemoryError or
    killed near the memory limit), ``killed`` (the process died some other way, e.g. ``os._exit`` or a
    crash), ``truncated`` (ran to the end but printed more than the output cap; ``stdout`` holds the head).
    """

    stdout: str
    error: str = ""
    status: str = "ok"
    duration: float = 0.0
    stderr: str = ""

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
        }

    @classmethod
    def from_dict(cls, row: dict) -> ExecResult:
        status = row.get("status", "killed")
        return cls(
            stdout=str(row.get("stdout", "")),
            error=str(row.get("error", "")),
            status=status if status in STATUSES else "killed",
            duration=float(row.get("duration", 0.0)),
            stderr=str(row.get("stderr", "")),
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
