"""Prepended to hostile test cells (read as text, run inside a sandbox child): find the child's own
result channel (its one socket) and write to it; ``current_seq`` reads the number of the cell being
run from the handler's frame, as a forging cell can."""

import json
import os
import socket
import stat
import struct
import sys


def _channel():
    for fd in range(3, 64):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                return socket.socket(fileno=os.dup(fd))
        except OSError:
            pass
    return None


def forge(body):
    _channel().sendall(struct.pack(">I", len(body)) + body)


def current_seq():
    f = sys._getframe()
    while f is not None:
        m = f.f_locals.get("msg")
        if isinstance(m, dict) and "seq" in m:
            return m["seq"]
        f = f.f_back
    return None


def forge_reply(stdout):
    reply = {"stdout": stdout, "stderr": "", "error": "", "status": "ok", "replaced": 0, "seq": current_seq()}
    forge(json.dumps(reply).encode())
