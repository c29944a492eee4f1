"""Each protection measured on its own: sandboxes with the other layers switched off.

The default sandbox stacks several layers against the same attack (e.g. network: empty namespace +
seccomp + Landlock), so an attack test on it cannot tell which layer works. Here each layer faces the
attack alone. Tests skip, saying why, when this kernel does not grant the layer under test.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid

import pytest

from mathforge.sandbox import Sandbox

LIGHT = ("math",)  # no sympy: these sandboxes start in a fraction of a second


def report_of(sb: Sandbox) -> dict:
    return sb.submit("pass", report=True).result().report


def require(sb: Sandbox, layer: str) -> None:
    active, detail = report_of(sb).get(layer, (False, "not reported"))
    if not active:
        pytest.skip(f"{layer} not available here: {detail}")


class Listener:
    """A TCP server on 127.0.0.1 that records whatever connects to it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(1)
            try:
                self.received.append(conn.recv(100) or b"<connected>")
            except OSError:
                self.received.append(b"<connected>")
            conn.close()

    def close(self):
        time.sleep(0.3)  # a connection racing the check would still be accepted
        self.stop = True
        self.thread.join()
        self.sock.close()


CONNECT = (
    "import socket\ntry:\n    s = socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
    "    s.sendall(b'exfiltrated')\n    print('connected')\nexcept OSError as e:\n    print(e.errno)"
)


@pytest.fixture(scope="module")
def netns_only():
    with Sandbox(workers=1, timeout=5, preload=LIGHT, seccomp=False, landlock=False) as sb:
        yield sb


@pytest.fixture(scope="module")
def landlock_only_net():
    with Sandbox(workers=1, timeout=5, preload=LIGHT, seccomp=False, network_namespace=False) as sb:
        yield sb


@pytest.fixture(scope="module")
def seccomp_only_net():
    with Sandbox(workers=1, timeout=5, preload=LIGHT, landlock=False, network_namespace=False) as sb:
        yield sb


def _connect_blocked(sb: Sandbox) -> str:
    listener = Listener()
    try:
        r = sb.run(CONNECT.format(port=listener.port))
    finally:
        listener.close()
    assert listener.received == []
    assert "connected" not in r.stdout
    return r.stdout.strip()


def test_network_namespace_alone_blocks_tcp(netns_only):
    require(netns_only, "network_namespace")
    import errno

    assert _connect_blocked(netns_only) == str(errno.ENETUNREACH)


def test_landlock_alone_blocks_tcp(landlock_only_net):
    import errno

    require(landlock_only_net, "landlock")
    if "no TCP" not in report_of(landlock_only_net)["landlock"][1]:
        pytest.skip("Landlock ABI < 4 has no network rules")
    assert _connect_blocked(landlock_only_net) == str(errno.EACCES)


def test_seccomp_alone_blocks_socket_creation(seccomp_only_net):
    import errno

    require(seccomp_only_net, "seccomp")
    assert _connect_blocked(seccomp_only_net) == str(errno.EPERM)


def test_unprivileged_uid_alone_blocks_writes_outside(netns_only, tmp_path):
    """No Landlock here: the unique uid is what keeps root-owned directories read-only."""
    require(netns_only, "unprivileged_uid")
    target = tmp_path / f"escape-{uuid.uuid4().hex}"
    os.chmod(tmp_path, 0o755)  # reachable, but owned by root
    r = netns_only.run(f"open({str(target)!r}, 'w').write('x')")
    assert r.status == "error" and "PermissionError" in r.error
    assert not target.exists()


def test_landlock_alone_blocks_writes_to_world_writable_dirs(landlock_only_net):
    """/tmp is writable by every uid: only Landlock keeps the child out of it."""
    require(landlock_only_net, "landlock")
    target = f"/tmp/mathforge-escape-{uuid.uuid4().hex}"
    r = landlock_only_net.run(f"open({target!r}, 'w').write('x')")
    assert r.status == "error"
    assert not os.path.exists(target)


def test_without_seccomp_fork_bomb_is_bounded_and_swept(landlock_only_net):
    """Without seccomp a child can fork: RLIMIT_NPROC (per unique uid) bounds the bomb, the wall
    clock kills the group, and the zygote sweeps every process left with the child's uid."""
    sb = landlock_only_net
    require(sb, "unprivileged_uid")
    code = (
        "import os, time\nn = 0\nfor _ in range(200):\n    try:\n        if os.fork() == 0:\n"
        "            os.setsid()\n            time.sleep(60)\n            os._exit(0)\n        n += 1\n"
        "    except OSError:\n        break\nprint(n)\ntime.sleep(60)"
    )
    with sb.session(timeout=1.5) as s:
        uid = int(s.run("import os\nprint(os.getuid())").stdout)
        assert s.run(code).status == "timeout"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        leftovers = [p for p in os.listdir("/proc") if p.isdigit() and _uid(p) == uid]
        if not leftovers:
            break
        time.sleep(0.1)
    assert leftovers == []
    r = sb.run(
        "import os\nn = 0\ntry:\n    for _ in range(100):\n        os.fork() or os._exit(0)\n        n += 1\nexcept OSError:\n    pass\nprint(n)"
    )
    assert 0 < int(r.stdout) < 100  # NPROC=32 stopped it


def _uid(pid: str) -> int:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return -1


def test_subprocess_output_cannot_reach_our_stdout(netns_only, capfd):
    """Without seccomp a child may exec, but fds 1/2 are /dev/null: nothing reaches the parent."""
    r = netns_only.run("import os\nos.system('echo LEAKED; echo LEAKED >&2')\nprint('ok')")
    assert r.stdout == "ok\n"
    out, err = capfd.readouterr()
    assert "LEAKED" not in out + err
