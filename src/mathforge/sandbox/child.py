"""What runs inside a forked child: execute cells with captured, capped output and report back."""

from __future__ import annotations

import ast
import codecs
import io
import os
import resource
import socket
import sys
import traceback

from mathforge.sandbox.protocol import recv_msg, send_msg
from mathforge.sandbox.result import valid_text

_MAX_ERROR_CHARS = 2000


class CappedWriter(io.TextIOBase):
    """A text stream that keeps at most ``limit`` UTF-8 bytes and remembers that it dropped the rest.

    Writes past the cap are accepted and discarded (the program keeps running, as at a terminal);
    the result is then reported with status ``truncated``.
    """

    encoding = "utf-8"
    errors = "surrogatepass"

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit
        self.size = 0
        self.parts: list[str] = []
        self.truncated = False
        self.buffer = _BytesSink(self)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, s) -> int:
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        n = len(s)
        if self.truncated or not n:
            return n
        room = self.limit - self.size
        nbytes = n if s.isascii() else len(s.encode("utf-8", "surrogatepass"))
        if nbytes <= room:
            self.parts.append(s)
            self.size += nbytes
            return n
        head = s[:room].encode("utf-8", "surrogatepass")[:room].decode("utf-8", "ignore")
        self.parts.append(head)
        self.size = self.limit
        self.truncated = True
        return n

    def getvalue(self) -> tuple[str, int]:
        """The text kept, made valid (see ``valid_text``), and how many characters had to be replaced."""
        self.buffer.finish()
        return valid_text("".join(self.parts))


class _BytesSink:
    """``sys.stdout.buffer`` for code that writes bytes.

    Decoded incrementally (a character split over two writes stays one character); a byte that is not
    UTF-8 becomes a lone surrogate here, and is then replaced and counted with the rest.
    """

    def __init__(self, text: CappedWriter):
        self._text = text
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")

    def write(self, data) -> int:
        data = bytes(data)
        self._text.write(self._decoder.decode(data))
        return len(data)

    def flush(self) -> None:
        pass

    def finish(self) -> None:
        tail = self._decoder.decode(b"", final=True)
        if tail:
            self._text.write(tail)


def last_traceback_line(exc: BaseException) -> str:
    try:
        line = traceback.format_exception_only(type(exc), exc)[-1].strip()
    except Exception:  # a hostile __str__
        line = type(exc).__name__
    return line[:_MAX_ERROR_CHARS]


def execute(code: str, glb: dict, *, repl: bool = False, max_output: int = 1 << 18) -> dict:
    """Run ``code`` in ``glb``; returns the fields of an ExecResult (without duration).

    ``repl``: when the last statement is a bare expression and nothing was printed, its ``repr`` is
    the output (like an interactive prompt; ``None`` shows nothing).
    """
    out, err = CappedWriter(max_output), CappedWriter(16 << 10)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    status, error = "ok", ""
    try:
        tree = ast.parse(code, "<cell>")
        last = tree.body.pop() if repl and tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<cell>", "exec"), glb)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), glb)
            if value is not None and not out.size:
                out.write(repr(value))
    except MemoryError as exc:
        status, error = "memory", last_traceback_line(exc)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt are the cell's errors, not ours
        status, error = "error", last_traceback_line(exc)
    finally:
        sys.stdout, sys.stderr = saved
    if status == "ok" and out.truncated:
        status = "truncated"
    (stdout, a), (stderr, b), (error, c) = out.getvalue(), err.getvalue(), valid_text(error)
    return {"stdout": stdout, "stderr": stderr, "error": error, "status": status, "replaced": a + b + c}


def _limit_cpu_for_cell(timeout: float) -> None:
    """Sessions live across cells: give this cell ``timeout`` + 1 more CPU seconds (soft limit)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    want = int(used + timeout) + 2
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (want, hard))
    except (ValueError, OSError):
        pass


def run_child(sock: socket.socket, kind: str, request: dict, report: dict, template: dict, cfg: dict) -> None:
    """Serve one stateless request (``kind == "run"``) or a session; never returns (``os._exit``)."""
    sys.dont_write_bytecode = True
    try:
        if kind == "run":
            opts = request.get("opts", {})
            result = execute(request["code"], dict(template), repl=bool(opts.get("repl")),
                             max_output=int(cfg["max_output"]))  # fmt: skip
            if opts.get("report"):
                result["report"] = report
            send_msg(sock, result)
            os._exit(0)
        glb = dict(template)
        sys.stdout = sys.stderr = CappedWriter(0)  # background threads between cells print nowhere
        while True:
            msg = recv_msg(sock)
            if msg is None:
                os._exit(0)
            opts = msg.get("opts", {})
            _limit_cpu_for_cell(float(opts.get("timeout", 5.0)))
            result = execute(str(msg.get("code", "")), glb, repl=bool(opts.get("repl")),
                             max_output=int(cfg["max_output"]))  # fmt: skip
            if opts.get("quiet"):
                result["stdout"] = result["stderr"] = ""
            if opts.get("report"):
                result["report"] = report
            result["seq"] = msg.get("seq")  # the zygote takes only the answer to the cell it sent last
            send_msg(sock, result)
    except BaseException:  # the channel broke (e.g. the cell closed it): nothing left to report to
        os._exit(70)
