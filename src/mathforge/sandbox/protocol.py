"""Length-prefixed JSON messages over stream sockets (parent <-> zygote <-> child).

JSON rather than pickle because the child side runs untrusted code: whatever a child writes must be
parsed without executing anything, and a size cap stops it from making the zygote buffer gigabytes.
"""

from __future__ import annotations

import json
import socket
import struct

_HEADER = struct.Struct(">I")
MAX_MESSAGE = 64 << 20


class ProtocolError(Exception):
    """A peer sent a malformed or oversized message."""


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
