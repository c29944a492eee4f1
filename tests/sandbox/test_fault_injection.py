"""Fault injection beyond the reported defects: fuzzed protocol input (Hypothesis) at the zygote's
decoding and checking, random bytes written by real cells into their own channel, and hostile session
cells that attack the channel or their own process. After each: the zygote lives, and the session
comes back with its state.
"""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mathforge.sandbox import Sandbox
from mathforge.sandbox.protocol import BufferedConn, ProtocolError, check_result, encode

CHANNEL = (Path(__file__).parent / "channel_snippet.py").read_text() + "\n"

MAX_OUTPUT = 256 << 10
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(st.characters(exclude_categories=())),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
_fields = st.sampled_from(["stdout", "stderr", "error", "status", "replaced", "seq", "report", "other"])
_results = st.dictionaries(
    _fields, _json | st.sampled_from(["ok", "error", "memory", "truncated"]), max_size=7
)


# ------------------------------------------------------------------------- decoding (no sandbox)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2000))
def test_fuzz_framing_of_arbitrary_bytes_raises_only_protocol_errors(data):
    conn = BufferedConn.__new__(BufferedConn)
    conn.limit, conn.rbuf = 1 << 16, bytearray(data)
    try:
        messages = conn.messages()
    except ProtocolError:
        return
    assert all(isinstance(m, dict) for m in messages)


@settings(max_examples=200, deadline=None)
@given(messages=st.lists(st.dictionaries(st.text(max_size=5), _json, max_size=4), max_size=5), data=st.data())
def test_fuzz_framing_is_independent_of_how_the_stream_is_split(messages, data):
    conn = BufferedConn.__new__(BufferedConn)
    conn.limit, conn.rbuf = 1 << 20, bytearray()
    stream = b"".join(encode(m) for m in messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    got = []
    for lo, hi in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        conn.rbuf += stream[lo:hi]
        got += conn.messages()
    assert got == json.loads(json.dumps(messages))  # as sent (JSON has no tuples: compare via JSON)
    assert not conn.rbuf


@settings(max_examples=500, deadline=None)
@given(msg=_results, seq=st.one_of(st.none(), st.integers(0, 5)), report=st.booleans())
def test_fuzz_result_check_passes_only_well_typed_small_valid_text(msg, seq, report):
    try:
        out = check_result(msg, MAX_OUTPUT, seq=seq, report=report)
    except ProtocolError:
        return
    assert set(out) <= {"stdout", "stderr", "error", "status", "replaced", "report"}
    assert out["status"] in ("ok", "error", "memory", "truncated")
    for name in ("stdout", "stderr", "error"):
        assert isinstance(out[name], str)
        out[name].encode("utf-8")  # valid text, whatever came in
    assert isinstance(out["replaced"], int) and out["replaced"] >= 0
    json.dumps(out, ensure_ascii=False).encode("utf-8")  # and re-encodes without trouble


# -------------------------------------------------------------- real cells writing random bytes


@pytest.fixture(scope="module")
def lean():
    with Sandbox(workers=1, light_workers=0, preload=("math",), timeout=5) as sb:
        yield sb


def _pids(sb):
    return [z.proc.pid for z in sb._zygotes]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    junk=st.one_of(
        st.binary(max_size=300),
        _results.map(lambda m: encode(m)),  # well framed, arbitrary fields
        st.integers(0, 2**32 - 1).map(lambda n: struct.pack(">I", n)),  # a header alone, any length
    )
)
def test_fuzz_stateless_cell_writing_junk_to_its_channel(lean, junk):
    pids = _pids(lean)
    r = lean.run(CHANNEL + f"forge({junk!r})\nimport time\ntime.sleep(0.3)\nprint('done')")
    assert r.status in ("ok", "killed", "error", "memory", "truncated")
    if r.status == "killed":
        assert "protocol" in r.error or "Killed" in r.error
    r.stdout.encode("utf-8")
    assert _pids(lean) == pids
    assert lean.run("print(1)").stdout == "1\n"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(min_size=1, max_size=200))
def test_fuzz_session_cell_writing_junk_to_its_channel_loses_no_state(lean, junk):
    pids = _pids(lean)
    with lean.session() as s:
        s.run("kept = 41")
        s.run(CHANNEL + f"forge({junk!r})")
        r = s.run("print(kept + 1)")
        assert (r.status, r.stdout) == ("ok", "42\n")
    assert _pids(lean) == pids


# ------------------------------------------------------------------------ hostile session cells

HOSTILE = {
    "close-channel": "import os, stat\nfor fd in range(3, 64):\n    try:\n"
    "        if stat.S_ISSOCK(os.fstat(fd).st_mode):\n            os.close(fd)\n    except OSError:\n        pass",
    "half-header": CHANNEL + "_channel().sendall(b'\\x00\\x00')",
    "huge-header": CHANNEL + "_channel().sendall(struct.pack('>I', 2**31))",
    "flood": CHANNEL + "s = _channel()\ns.setblocking(False)\ntry:\n    for _ in range(200):\n"
    "        s.send(b'x' * (1 << 20))\nexcept OSError:\n    pass",
    "shutdown-write": CHANNEL + "_channel().shutdown(socket.SHUT_WR)",
    "stop-itself": "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)",
    "dup-null-over-channel": CHANNEL + "import os\nnull = os.open('/dev/null', os.O_WRONLY)\n"
    "for fd in range(3, 64):\n    try:\n        if stat.S_ISSOCK(os.fstat(fd).st_mode):\n            os.dup2(null, fd)\n"
    "    except OSError:\n        pass",
    "receive-timeout": CHANNEL
    + "_channel().setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack('ll', 0, 1000))",
    "kill-own-group": "import os, signal\nos.killpg(0, signal.SIGKILL)",
    "exhaust-fds": "import os\nfds = []\ntry:\n    while True:\n        fds.append(os.open('/dev/null', os.O_RDONLY))\n"
    "except OSError:\n    pass",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_session_cell_leaves_the_zygote_and_the_session_state(lean, name):
    pids = _pids(lean)
    # only a stopped cell needs its timeout to pass; the others get a wide one, because a loaded CI machine
    # can take seconds for an ordinary cell and a timed-out cell (rightly) loses the session's state
    with lean.session(timeout=3 if name == "stop-itself" else 30) as s:
        s.run("kept = 'state'")
        s.run(HOSTILE[name])
        r = s.run("print(kept)")
        assert (r.status, r.stdout) == ("ok", "state\n"), (name, r)
        assert s.run("print(kept * 2)").stdout == "statestate\n"
    assert _pids(lean) == pids
    deadline = time.monotonic() + 10
    while (stats := lean.stats()[0])["children"] != stats["sessions"] and time.monotonic() < deadline:
        time.sleep(0.05)  # the closed session's child is reaped asynchronously
    assert stats["children"] == stats["sessions"] == 0
