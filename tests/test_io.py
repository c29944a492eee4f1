"""mathforge.io: JSONL readers and JsonlAppender under hostile rows, files and concurrent writers."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mathforge.io import (
    DataError,
    JsonlAppender,
    OutputLockedError,
    read_json_or_jsonl,
    read_jsonl,
    write_json,
    write_jsonl,
)

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def by_id(row: dict):
    return row["id"]


def lines(path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


# ------------------------------------------------------------------- defect 1: lone surrogates


def test_lone_surrogate_in_a_row_is_written_as_replacement_and_counted(tmp_path):
    path = tmp_path / "preds.jsonl"
    with JsonlAppender(path, key=by_id) as out:
        out.write({"id": "a", "stdout": "\udcff\n", "nested": [{"k\ud800": "x"}]})
        out.write({"id": "b", "stdout": "fine"})
        assert out.replaced == 2
        assert out.rows[0] == {"id": "a", "stdout": "\ufffd\n", "nested": [{"k\ufffd": "x"}]}
    rows = [r for _, r in read_jsonl(path)]
    assert rows == [
        {"id": "a", "stdout": "\ufffd\n", "nested": [{"k\ufffd": "x"}]},
        {"id": "b", "stdout": "fine"},
    ]
    with JsonlAppender(path, key=by_id) as again:  # resume sees both rows: nothing to redo
        assert again.done == {"a", "b"}


def test_write_jsonl_and_write_json_replace_lone_surrogates(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="mathforge.io"):
        assert write_jsonl(tmp_path / "rows.jsonl", [{"t": "\udcff"}, {"t": "ok"}]) == 2
        write_json(tmp_path / "m.json", {"example": "a\ud83db"})
    assert [r for _, r in read_jsonl(tmp_path / "rows.jsonl")] == [{"t": "\ufffd"}, {"t": "ok"}]
    assert json.loads((tmp_path / "m.json").read_text(encoding="utf-8")) == {"example": "a\ufffdb"}
    assert sum("not valid text" in r.message for r in caplog.records) == 2
    assert not list(tmp_path.glob("*.tmp"))


# --------------------------------------------------------------- defect 5: two writers, duplicates


def _holder(path, ready) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {SRC!r})
        from mathforge.io import JsonlAppender
        out = JsonlAppender({str(path)!r}, key=lambda r: r["id"])
        out.write({{"id": "from-holder"}})
        open({str(ready)!r}, "w").close()
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    return proc


def test_two_writers_on_one_output_second_gets_an_error_naming_the_first(tmp_path):
    path = tmp_path / "preds.jsonl"
    proc = _holder(path, tmp_path / "ready")
    try:
        with pytest.raises(OutputLockedError) as err:
            JsonlAppender(path, key=by_id)
        assert err.value.pid == proc.pid
        assert str(path) in str(err.value) and f"pid {proc.pid}" in str(err.value)
        assert isinstance(err.value, DataError)  # CLIs print it like any bad input
    finally:
        proc.send_signal(signal.SIGKILL)  # kill -9: the kernel releases the lock
        proc.wait()
    with JsonlAppender(path, key=by_id) as out:
        assert out.done == {"from-holder"}
        out.write({"id": "mine"})
    assert lines(path) == ['{"id": "from-holder"}', '{"id": "mine"}']


def test_second_appender_in_the_same_process_is_refused_until_the_first_closes(tmp_path):
    path = tmp_path / "out.jsonl"
    first = JsonlAppender(path)
    with pytest.raises(OutputLockedError, match="this process"):
        JsonlAppender(path)
    first.close()
    JsonlAppender(path).close()


def test_resume_drops_duplicate_keys_first_row_wins(tmp_path, caplog):
    """A file two unlocked runs appended to (every row twice) is repaired on resume."""
    path = tmp_path / "preds.jsonl"
    first = [{"id": i, "run": 1} for i in range(4)]
    second = [{"id": i, "run": 2} for i in range(4)]
    path.write_text("".join(json.dumps(r) + "\n" for pair in zip(first, second, strict=True) for r in pair))
    with caplog.at_level(logging.WARNING, logger="mathforge.io"), JsonlAppender(path, key=by_id) as out:
        assert out.rows == first
        assert out.duplicates == 4
    assert any("dropped 4 duplicate" in r.message for r in caplog.records)
    assert [json.loads(x) for x in lines(path)] == first  # the file itself no longer counts them twice
    with JsonlAppender(path, key=by_id) as again:
        assert again.duplicates == 0 and again.rows == first


# --------------------------------------------------------------- defect 6: corrupt middle lines


def test_corrupt_middle_line_is_set_aside_and_later_rows_are_kept(tmp_path, caplog):
    path = tmp_path / "preds.jsonl"
    path.write_bytes(b'{"id": 1}\n{"id": 2, "oops\n\xff\xfe\n[1, 2]\n{"no_id": 1}\n{"id": 3}\n{"id": 4}\n')
    with caplog.at_level(logging.WARNING, logger="mathforge.io"), JsonlAppender(path, key=by_id) as out:
        assert [r["id"] for r in out.rows] == [1, 3, 4]  # nothing after the bad line is lost
        assert out.corrupt == [2, 3, 4, 5]
        assert not out.torn
    message = " ".join(r.message for r in caplog.records)
    assert str(path) in message and "line 2, 3, 4, 5" in message and ".corrupt" in message
    aside = [json.loads(x) for x in lines(tmp_path / "preds.jsonl.corrupt")]
    assert [a["line"] for a in aside] == [2, 3, 4, 5]
    assert aside[0]["text"] == '{"id": 2, "oops' and aside[1]["text"] == "\\xff\\xfe"
    assert "no key" in aside[3]["error"]
    assert [json.loads(x)["id"] for x in lines(path)] == [1, 3, 4]


def test_only_a_torn_last_line_is_repaired_silently(tmp_path, caplog):
    path = tmp_path / "preds.jsonl"
    path.write_text('{"id": 1}\n{"id": 2}\n{"id": 3, "tex')
    with caplog.at_level(logging.DEBUG, logger="mathforge.io"), JsonlAppender(path, key=by_id) as out:
        assert [r["id"] for r in out.rows] == [1, 2] and out.torn and out.corrupt == []
        out.write({"id": 3})
    assert caplog.records == []
    assert lines(path) == ['{"id": 1}', '{"id": 2}', '{"id": 3}']
    assert not (tmp_path / "preds.jsonl.corrupt").exists()


def test_a_bad_last_line_that_ended_with_a_newline_is_not_silent(tmp_path, caplog):
    """A newline is written after the whole row, so a bad line before it cannot be a torn write."""
    path = tmp_path / "preds.jsonl"
    path.write_text('{"id": 1}\n{"id": 2, "tex\n')
    with caplog.at_level(logging.WARNING, logger="mathforge.io"), JsonlAppender(path, key=by_id) as out:
        assert out.corrupt == [2] and not out.torn
    assert caplog.records


def test_complete_last_row_that_lost_its_newline_is_kept(tmp_path):
    path = tmp_path / "preds.jsonl"
    path.write_text('{"id": 1}\n{"id": 2}')
    with JsonlAppender(path, key=by_id) as out:
        assert [r["id"] for r in out.rows] == [1, 2]
        out.write({"id": 3})
    assert lines(path) == ['{"id": 1}', '{"id": 2}', '{"id": 3}']


def test_a_failed_write_leaves_no_torn_row(tmp_path, monkeypatch):
    path = tmp_path / "preds.jsonl"
    out = JsonlAppender(path, key=by_id)
    out.write({"id": 1})
    real_write = os.write

    def disk_full_half_way(fd, data):
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", disk_full_half_way)
    with pytest.raises(OSError, match="No space"):
        out.write({"id": 2, "text": "x" * 100})
    monkeypatch.setattr(os, "write", real_write)
    assert lines(path) == ['{"id": 1}']
    out.write({"id": 3})
    out.close()
    assert [r["id"] for _, r in read_jsonl(path)] == [1, 3]


def test_an_unserializable_row_writes_nothing(tmp_path):
    path = tmp_path / "preds.jsonl"
    with JsonlAppender(path) as out:
        with pytest.raises(TypeError):
            out.write({"id": 1, "obj": object()})
        out.write({"id": 2})
    assert lines(path) == ['{"id": 2}']


# ------------------------------------------------------------------------------------ readers


def test_read_jsonl_invalid_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": "\xff"}\n')
    with pytest.raises(DataError, match=r"in\.jsonl, line 2: not UTF-8") as err:
        list(read_jsonl(path))
    assert err.value.line == 2


def test_read_jsonl_deep_nesting_and_huge_integers_are_data_errors(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"a": 1}\n{"a": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    with pytest.raises(DataError, match="line 2"):
        list(read_jsonl(path))
    path.write_text('{"a": ' + "9" * 10_000 + "}\n")
    with pytest.raises(DataError, match="line 1"):
        list(read_jsonl(path))


def test_read_json_bad_utf8_and_wrong_shape_are_data_errors(tmp_path):
    path = tmp_path / "in.json"
    path.write_bytes(b'[{"a": "\xff"}]')
    with pytest.raises(DataError, match="not UTF-8"):
        list(read_json_or_jsonl(path))
    path.write_text("42")
    with pytest.raises(DataError, match="expected a list"):
        list(read_json_or_jsonl(path))


# ------------------------------------------------------------------------------ fuzz (Hypothesis)

_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=20)  # lone surrogates included
_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)
_row = st.fixed_dictionaries({"id": st.integers(0, 6)}, optional={"v": _values})
_line = st.one_of(
    _row.map(lambda r: ("row", r)),
    st.binary(max_size=30).filter(lambda b: b"\n" not in b).map(lambda b: ("bytes", b)),
)


def _expected(entries: list, last_newline: bool):
    """What resume must keep, set aside and drop for these lines, by the rules in the io docstring."""
    kept, seen, corrupt, torn, duplicates = [], set(), [], False, 0
    for i, (kind, value) in enumerate(entries, start=1):
        raw = json.dumps(value, ensure_ascii=True).encode() if kind == "row" else value
        row = None
        try:
            row = json.loads(raw.decode("utf-8")) if raw.strip() else "blank"
        except (ValueError, RecursionError):
            pass
        if row == "blank":
            continue
        if not isinstance(row, dict) or "id" not in row:
            if i == len(entries) and not last_newline:
                torn = True
            else:
                corrupt.append(i)
            continue
        if row["id"] in seen:
            duplicates += 1
            continue
        seen.add(row["id"])
        kept.append(row)
    return kept, corrupt, torn, duplicates


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(_line, max_size=12), last_newline=st.booleans())
def test_fuzz_resume_never_crashes_and_loses_no_valid_row(tmp_path_factory, entries, last_newline):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "out.jsonl"
    raws = [json.dumps(v, ensure_ascii=True).encode() if k == "row" else v for k, v in entries]
    data = b"\n".join(raws) + (b"\n" if last_newline and raws else b"")
    path.write_bytes(data)
    kept, corrupt, torn, duplicates = _expected(entries, last_newline)
    with JsonlAppender(path, key=by_id) as out:
        assert out.rows == kept
        assert out.corrupt == corrupt and out.duplicates == duplicates and out.torn == torn
        out.write({"id": "new"})
    with JsonlAppender(
        path, key=by_id
    ) as again:  # the repaired file is clean: a second resume changes nothing
        assert again.rows == [*kept, {"id": "new"}]
        assert again.corrupt == [] and again.duplicates == 0 and not again.torn
    if corrupt:
        assert len(lines(folder / "out.jsonl.corrupt")) == len(corrupt)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.dictionaries(_text, _values, max_size=4), max_size=5))
def test_fuzz_any_text_is_written_and_read_back_as_valid_text(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("text")
    with JsonlAppender(folder / "a.jsonl") as out:
        for row in rows:
            out.write(row)
        in_memory = list(out.rows)
    write_jsonl(folder / "b.jsonl", rows)
    write_json(folder / "c.json", rows)
    for name in ("a.jsonl", "b.jsonl"):
        back = [r for _, r in read_jsonl(folder / name)]
        assert back == in_memory
    assert json.loads((folder / "c.json").read_text(encoding="utf-8")) == in_memory
    for row in in_memory:  # every string is encodable now
        json.dumps(row, ensure_ascii=False).encode("utf-8")
