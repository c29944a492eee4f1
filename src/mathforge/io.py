"""Shared I/O: JSONL reading with precise errors, append-only JSONL writing with resume, progress bars.

Every stage that writes results uses :class:`JsonlAppender`: rows are appended and flushed one by one,
so a crash or ``kill -9`` loses at most the row being written; on restart the stage reads the keys
already done and skips them. A torn last line (the process died mid-write) is dropped on resume.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


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
        if isinstance(data, dict):
            data = data.get("data") or data.get("rows") or [data]
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


class JsonlAppender:
    """Append-only JSONL output that survives ``kill -9`` and supports resume.

    >>> out = JsonlAppender("preds.jsonl", key=lambda r: (r["id"], r["sample"]))
    >>> todo = [x for x in work if key(x) not in out.done]
    >>> out.write(row)      # flushed (and fsynced if ``fsync=True``) before returning
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
        self._repair_and_load()
        self._fh = self.path.open("a", encoding="utf-8")

    def _repair_and_load(self) -> None:
        if not self.path.exists():
            return
        raw = self.path.read_bytes()
        good_end = 0
        pos = 0
        while pos < len(raw):
            nl = raw.find(b"\n", pos)
            if nl == -1:  # torn last line: the writer died mid-row
                break
            line = raw[pos:nl]
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    break
                self.rows.append(row)
                if self.key is not None:
                    self.done.add(_hashable(self.key(row)))
            pos = good_end = nl + 1
        if good_end < len(raw):
            with self.path.open("r+b") as fh:
                fh.truncate(good_end)

    def write(self, row: dict) -> None:
        self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())
        self.rows.append(row)
        if self.key is not None:
            self.done.add(_hashable(self.key(row)))

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> int:
    """Write rows atomically (temp file + rename); returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    n = 0
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    os.replace(tmp, path)
    return n


def write_json(path: str | os.PathLike, obj: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


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
