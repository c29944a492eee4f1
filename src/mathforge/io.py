"""Shared I/O: JSONL reading with precise errors, append-only JSONL writing with resume, progress bars.

Every stage that writes results uses :class:`JsonlAppender`: rows are appended and flushed one by one,
so a crash or ``kill -9`` loses at most the row being written; on restart the stage reads the keys
already done and skips them. Resume repairs only what a crash can leave: a torn last line (the process
died mid-write) is dropped silently. Anything else that does not parse is *set aside* (moved, with its
line number, to ``<file>.corrupt``, and a warning says so) and rows whose key was already seen are
dropped (the first row of each key wins; a warning says how many). One process writes a file at a time:
a second writer gets :class:`OutputLockedError` naming the first one's pid.

Text that is not valid Unicode (a lone surrogate such as ``'\\udcff'``, which a program's output or a
decoded file name can contain) cannot be encoded as UTF-8; every writer here replaces it with U+FFFD
and counts it instead of failing, so one odd row never stops a run.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_log = logging.getLogger("mathforge.io")
_SURROGATE = re.compile("[\ud800-\udfff]")


class DataError(ValueError):
    """Bad input, with the file, line and field it was found at."""

    def __init__(
        self,
        message: str,
        path: str | os.PathLike | None = None,
        line: int | None = None,
        field: str | None = None,
    ):
        self.path, self.line, self.field = (str(path) if path is not None else None), line, field
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{': '.join([', '.join(where), message]) if where else message}")


class OutputLockedError(DataError):
    """Another process (``pid``, when known) is appending to this output file."""

    def __init__(self, path: str | os.PathLike, pid: int | None):
        self.pid = pid
        if pid == os.getpid():
            who = f"this process (pid {pid}) has it open in another JsonlAppender and"
        else:
            who = f"another process (pid {pid})" if pid else "another process"
        super().__init__(f"{who} is writing this file; wait for it to finish or write elsewhere", path)


def read_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, row)`` for each non-empty line; a bad line raises :class:`DataError`."""
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", path)
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"not UTF-8 text (byte {exc.start} of the line)", path, lineno) from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"invalid JSON ({exc.msg} at column {exc.colno})", path, lineno) from None
            except (ValueError, RecursionError) as exc:  # e.g. an integer of 10,000 digits, deep nesting
                raise DataError(_json_failure(exc), path, lineno) from None
            if not isinstance(row, dict):
                raise DataError(f"expected a JSON object, got {type(row).__name__}", path, lineno)
            yield lineno, row


def read_json_or_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """Rows of a ``.jsonl`` file, or of a ``.json`` file holding a list of objects (line = index + 1)."""
    path = Path(path)
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise DataError(f"not UTF-8 text (byte {exc.start})", path) from None
        except json.JSONDecodeError as exc:
            raise DataError(f"invalid JSON ({exc.msg})", path, exc.lineno) from None
        except (ValueError, RecursionError) as exc:
            raise DataError(_json_failure(exc), path) from None
        if isinstance(data, dict):
            data = data.get("data") or data.get("rows") or [data]
        if not isinstance(data, list):
            raise DataError(f"expected a list of JSON objects, got {type(data).__name__}", path)
        for i, row in enumerate(data, start=1):
            if not isinstance(row, dict):
                raise DataError(f"expected a JSON object, got {type(row).__name__}", path, i)
            yield i, row
    else:
        yield from read_jsonl(path)


def require(row: dict, field: str, path, line: int, types: type | tuple[type, ...] = str) -> Any:
    """Return ``row[field]``, raising :class:`DataError` naming file, line and field if absent or mistyped."""
    if field not in row or row[field] is None:
        raise DataError("missing required field", path, line, field)
    value = row[field]
    if not isinstance(value, types):
        names = types.__name__ if isinstance(types, type) else "/".join(t.__name__ for t in types)
        raise DataError(f"expected {names}, got {type(value).__name__}", path, line, field)
    return value


def replace_invalid_text(text: str) -> tuple[str, int]:
    """``text`` with every lone surrogate replaced by U+FFFD, and how many were replaced."""
    if text.isascii():
        return text, 0
    try:
        text.encode("utf-8")
        return text, 0
    except UnicodeEncodeError:
        return _SURROGATE.subn("\ufffd", text)


def _decode_line(raw: bytes, path: Path, lineno: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text (byte {exc.start} of the line)", path, lineno) from None


def _parse_line(text: str, path: Path, lineno: int) -> dict:
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"invalid JSON ({exc.msg} at column {exc.colno})", path, lineno) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of 10,000 digits, 100,000 nested lists
        raise DataError(_json_failure(exc), path, lineno) from None
    if not isinstance(row, dict):
        raise DataError(f"expected a JSON object, got {type(row).__name__}", path, lineno)
    return row


def _json_failure(exc: BaseException) -> str:
    return f"invalid JSON ({type(exc).__name__}: {str(exc)[:100]})"


def dumps_valid(obj: Any, **kwargs) -> tuple[str, int]:
    """``json.dumps(obj, ensure_ascii=False, **kwargs)`` made encodable: lone surrogates -> U+FFFD.

    Returns the text and how many characters were replaced. JSON escapes every control character, so
    replacing in the serialized text is the same as replacing in each string (keys included).
    """
    return replace_invalid_text(json.dumps(obj, ensure_ascii=False, **kwargs))


class JsonlAppender:
    """Append-only JSONL output that survives ``kill -9`` and supports resume.

    >>> out = JsonlAppender("preds.jsonl", key=lambda r: (r["id"], r["sample"]))
    >>> todo = [x for x in work if key(x) not in out.done]
    >>> out.write(row)      # on disk (and fsynced if ``fsync=True``) before returning

    Opening takes an exclusive lock (``flock`` on ``<file>.lock``, which names the holder's pid) for as
    long as the appender is open. After opening: ``rows`` (one per key, in file order), ``duplicates``
    (rows dropped because their key came earlier), ``corrupt`` (line numbers set aside to
    ``<file>.corrupt``), ``torn`` (a torn last line was dropped); ``replaced`` counts the characters
    that were not valid text and were written as U+FFFD.
    """

    def __init__(
        self, path: str | os.PathLike, key: Callable[[dict], Any] | None = None, fsync: bool = False
    ):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.key = key
        self.fsync = fsync
        self.rows: list[dict] = []
        self.done: set = set()
        self.duplicates = 0
        self.corrupt: list[int] = []
        self.torn = False
        self.replaced = 0
        self._fd: int | None = None
        self._lock_fd = _lock(self.path)
        try:
            self._repair_and_load()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            self._size = os.fstat(self._fd).st_size
        except BaseException:
            os.close(self._lock_fd)
            raise

    # ----------------------------------------------------------------------------------- resume
    def _repair_and_load(self) -> None:
        if not self.path.exists():
            return
        raw = self.path.read_bytes()
        kept: list[bytes] = []
        set_aside: list[tuple[int, bytes, str]] = []
        pos, lineno = 0, 0
        while pos < len(raw):
            nl = raw.find(b"\n", pos)
            end = len(raw) if nl == -1 else nl
            line, lineno = raw[pos:end], lineno + 1
            pos = end + 1
            if not line.strip():
                continue
            try:
                row = _parse_line(_decode_line(line, self.path, lineno), self.path, lineno)
                key = _hashable(self.key(row)) if self.key is not None else None
                hash(key)
            except DataError as exc:
                if nl == -1:  # torn last line: the writer died mid-row
                    self.torn = True
                    break
                set_aside.append((lineno, line, str(exc)))
                continue
            except Exception as exc:  # the key function fails on this row (e.g. a field is missing)
                set_aside.append((lineno, line, f"no key: {type(exc).__name__}: {exc}"))
                continue
            if key is not None and key in self.done:
                self.duplicates += 1
                continue
            if key is not None:
                self.done.add(key)
            self.rows.append(row)
            kept.append(line)
        if set_aside or self.duplicates:
            self._rewrite(kept, set_aside)
        elif self.torn:
            with self.path.open("r+b") as fh:
                fh.truncate(raw.rfind(b"\n") + 1)
        elif raw and not raw.endswith(b"\n"):  # a complete last row that lost only its newline
            with self.path.open("ab") as fh:
                fh.write(b"\n")

    def _rewrite(self, kept: list[bytes], set_aside: list[tuple[int, bytes, str]]) -> None:
        """Replace the file by its kept rows; corrupt lines go to ``<file>.corrupt`` first (nothing lost)."""
        if set_aside:
            corrupt_path = self.path.with_name(self.path.name + ".corrupt")
            with corrupt_path.open("a", encoding="utf-8") as fh:
                for lineno, line, reason in set_aside:
                    text = line.decode("utf-8", "backslashreplace")
                    fh.write(
                        json.dumps({"line": lineno, "error": reason, "text": text}, ensure_ascii=False) + "\n"
                    )
                fh.flush()
                os.fsync(fh.fileno())
            shown = ", ".join(str(n) for n, _, _ in set_aside[:10]) + (" ..." if len(set_aside) > 10 else "")
            _log.warning("%s: %d corrupt line(s) set aside to %s (line %s): %s", self.path, len(set_aside),
                         corrupt_path, shown, set_aside[0][2])  # fmt: skip
            self.corrupt = [n for n, _, _ in set_aside]
        if self.duplicates:
            _log.warning("%s: dropped %d duplicate row(s) (the first row of each key is kept)",
                         self.path, self.duplicates)  # fmt: skip
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            fh.write(b"".join(line + b"\n" for line in kept))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    # ------------------------------------------------------------------------------------ write
    def write(self, row: dict) -> None:
        text, replaced = dumps_valid(row)
        if replaced:
            row = json.loads(text)  # what is on disk, so that ``rows`` agrees with the file
            self.replaced += replaced
        key = _hashable(self.key(row)) if self.key is not None else None
        self._append((text + "\n").encode("utf-8"))
        self.rows.append(row)
        if self.key is not None:
            self.done.add(key)

    def _append(self, data: bytes) -> None:
        """All of ``data`` or nothing: a failed write (e.g. disk full) is cut back off the file."""
        if self._fd is None:
            raise ValueError(f"{self.path}: write to a closed JsonlAppender")
        view, done = memoryview(data), 0
        try:
            while done < len(data):
                done += os.write(self._fd, view[done:])
            if self.fsync:
                os.fsync(self._fd)
        except BaseException:
            try:  # we hold the lock, so nobody else appended since: cut back to the last whole row
                os.ftruncate(self._fd, self._size)
            except OSError:
                pass  # the next resume drops the torn line
            raise
        self._size += len(data)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            os.close(self._lock_fd)  # releases the lock

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _lock(path: Path) -> int:
    """Hold an exclusive flock on ``<path>.lock`` (which then holds our pid); the fd keeps the lock.

    The lock file is never removed: unlinking it while another process waits on the old inode would
    let two writers each hold "the" lock.
    """
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            pid = int(os.pread(fd, 32, 0).split()[0])
        except (OSError, ValueError, IndexError):
            pid = None
        os.close(fd)
        raise OutputLockedError(path, pid) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def _atomic_write_text(path: Path, text: str, replaced: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    if replaced:
        _log.warning("%s: %d character(s) that were not valid text written as U+FFFD", path, replaced)


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> int:
    """Write rows atomically (temp file + rename); returns the count."""
    lines, replaced = [], 0
    for row in rows:
        text, n = dumps_valid(row)
        lines.append(text + "\n")
        replaced += n
    _atomic_write_text(Path(path), "".join(lines), replaced)
    return len(lines)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    text, replaced = dumps_valid(obj, indent=2)
    _atomic_write_text(Path(path), text + "\n", replaced)


@contextmanager
def progress(description: str, total: int | None, unit: str = "it", disable: bool = False):
    """A rich progress bar with count, rate and ETA; yields ``advance(n=1, **fields)``.

    Extra rate columns (e.g. tokens/s) are shown by passing ``extra="..."`` to advance.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(unit),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[extra]}"),
    ]
    with Progress(
        *columns, disable=disable or bool(os.environ.get("MATHFORGE_NO_PROGRESS")), transient=False
    ) as bar:
        task = bar.add_task(description, total=total, extra="")

        def advance(n: int = 1, extra: str | None = None) -> None:
            if extra is not None:
                bar.update(task, advance=n, extra=extra)
            else:
                bar.update(task, advance=n)

        yield advance


class _RateColumn:
    """Items per second (rich's ProgressColumn protocol, kept import-light)."""

    def __new__(cls, unit: str):
        from rich.progress import ProgressColumn
        from rich.text import Text

        class RateColumn(ProgressColumn):
            def render(self, task):  # noqa: D401
                speed = task.finished_speed or task.speed
                return Text("  -   " + unit + "/s" if speed is None else f"{speed:6.2f} {unit}/s")

        return RateColumn()


#: a recipe or config larger than this is not a recipe (and must not be parsed into memory)
MAX_YAML_BYTES = 8 << 20


def read_yaml(path: str | os.PathLike):
    """A YAML file's value, safely: no Python objects, no aliases (an alias bomb expands to gigabytes
    when anything walks it), at most ``MAX_YAML_BYTES``; errors name the file and line."""
    import yaml

    path = Path(path)
    if not path.exists():
        raise DataError("file not found", path)
    if path.stat().st_size > MAX_YAML_BYTES:
        raise DataError(f"larger than {MAX_YAML_BYTES >> 20} MiB: not a config file", path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text (byte {exc.start})", path) from None

    class _NoAliases(yaml.SafeLoader):
        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.YAMLError(f"YAML aliases (*{event.anchor}) are not allowed in a config (line "
                                     f"{event.start_mark.line + 1}); write the values out")  # fmt: skip
            return super().compose_node(parent, index)

    try:
        return yaml.load(text, Loader=_NoAliases)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise DataError(f"invalid YAML: {exc.problem or exc}", path, line) from None
    except yaml.YAMLError as exc:
        raise DataError(f"invalid YAML: {exc}", path) from None


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
