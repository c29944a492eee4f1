"""Length-prefixed JSON messages over stream sockets (parent <-> zygote <-> child).

JSON rather than pickle because the child side runs untrusted code: whatever a child writes must be
parsed without executing anything, and a size cap stops it from making the zygote buffer gigabytes.
"""

from __future__ import annotations

import json
import socket
import struct

from mathforge.sandbox.result import valid_text

_HEADER = struct.Struct(">I")
MAX_MESSAGE = 64 << 20


class ProtocolError(Exception):
    """A peer sent a malformed or oversized message."""


# What an honest child sends (child.execute): its own caps, so anything longer was forged.
CHILD_STATUSES = ("ok", "error", "memory", "truncated")
MAX_STDERR_CHARS, MAX_ERROR_CHARS = 16 << 10, 2000
_REPORT_ENTRIES, _REPORT_CHARS = 64, 4000


def check_result(msg: dict, max_output: int, *, seq: int | None = None, report: bool = False) -> dict:
    """The fields of a child's result message, each checked by type and size; ``ProtocolError`` if any
    is wrong. Strings come back as valid text (lone surrogates replaced, counted in ``replaced``).

    A child runs untrusted code, which can write anything to its channel: nothing it sends is passed on
    unchecked (a list nested 900 deep in ``stdout`` once made the zygote's re-encoding overflow its stack).
    ``seq``: the number of the cell the zygote sent last (sessions); a reply for any other is refused.
    """
    allowed = {"stdout", "stderr", "error", "status", "replaced", "seq", "report"}
    extra = [k for k in msg if k not in allowed]
    if extra:
        raise ProtocolError(f"unexpected field {extra[0][:40]!r} in a result")
    if seq is not None and (type(msg.get("seq")) is not int or msg["seq"] != seq):
        raise ProtocolError(f"a reply for cell {str(msg.get('seq'))[:20]} while cell {seq} runs")
    status = msg.get("status")
    if not isinstance(status, str) or status not in CHILD_STATUSES:
        raise ProtocolError(f"status {str(status)[:40]!r} is not one a child reports")
    replaced = msg.get("replaced", 0)
    if type(replaced) is not int or not 0 <= replaced <= max_output + MAX_STDERR_CHARS + MAX_ERROR_CHARS:
        raise ProtocolError("field 'replaced' is not a count of characters")
    out: dict = {"status": status}
    for name, cap in (("stdout", max_output), ("stderr", MAX_STDERR_CHARS), ("error", MAX_ERROR_CHARS)):
        value = msg.get(name, "")
        if type(value) is not str:
            raise ProtocolError(f"field {name!r} is a {type(value).__name__}, not a string")
        if len(value) > cap:
            raise ProtocolError(f"field {name!r} has {len(value)} characters, over its cap of {cap}")
        out[name], n = valid_text(value)
        replaced += n
    out["replaced"] = replaced
    if "report" in msg:
        if not report:
            raise ProtocolError("a report nobody asked for")
        out["report"] = _check_report(msg["report"])
    return out


def _check_report(report) -> dict:
    if not isinstance(report, dict) or len(report) > _REPORT_ENTRIES:
        raise ProtocolError("the report is not a small object")
    out = {}
    for name, entry in report.items():
        ok = isinstance(entry, list) and len(entry) == 2 and type(entry[0]) is bool and type(entry[1]) is str
        if not ok or len(name) > 64 or len(entry[1]) > _REPORT_CHARS:
            raise ProtocolError(f"report entry {name[:40]!r} is not [bool, short string]")
        out[valid_text(name)[0]] = [entry[0], valid_text(entry[1])[0]]
    return out


def encode(obj: dict) -> bytes:
    data = json.dumps(obj, separators=(",", ":")).encode("ascii")  # ascii: lone surrogates survive
    return _HEADER.pack(len(data)) + data


def send_msg(sock: socket.socket, obj: dict) -> None:
    sock.sendall(encode(obj))


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv_msg(sock: socket.socket, limit: int = MAX_MESSAGE) -> dict | None:
    """Block for one message; ``None`` at end of stream."""
    header = _recv_exact(sock, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > limit:
        raise ProtocolError(f"message of {size} bytes exceeds {limit}")
    body = _recv_exact(sock, size)
    if body is None:
        return None
    return _decode(body)


def _decode(body: bytes) -> dict:
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"bad message: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError("message is not an object")
    return obj


class BufferedConn:
    """Non-blocking socket with read/write buffers, for the zygote's single-threaded event loop."""

    def __init__(self, sock: socket.socket, limit: int = MAX_MESSAGE):
        sock.setblocking(False)
        self.sock = sock
        self.limit = limit
        self.rbuf = bytearray()
        self.wbuf = bytearray()

    def fileno(self) -> int:
        return self.sock.fileno()

    def feed(self) -> bool:
        """Read what is available; False at end of stream or on a socket error."""
        try:
            data = self.sock.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        if not data:
            return False
        self.rbuf += data
        if len(self.rbuf) > self.limit + _HEADER.size:
            raise ProtocolError("peer sent more than the message limit")
        return True

    def messages(self) -> list[dict]:
        out = []
        while len(self.rbuf) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self.rbuf)
            if size > self.limit:
                raise ProtocolError(f"message of {size} bytes exceeds {self.limit}")
            if len(self.rbuf) < _HEADER.size + size:
                break
            body = bytes(self.rbuf[_HEADER.size : _HEADER.size + size])
            del self.rbuf[: _HEADER.size + size]
            out.append(_decode(body))
        return out

    def send(self, obj: dict) -> None:
        self.wbuf += encode(obj)
        self.flush()

    def flush(self) -> None:
        while self.wbuf:
            try:
                n = self.sock.send(self.wbuf)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.wbuf.clear()  # peer gone: nothing more to deliver
                return
            del self.wbuf[:n]

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
