"""Attacks on the default (fully protected) sandbox: each is contained and the pool keeps serving."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid

import pytest

from mathforge.sandbox.isolation import UID_BASE


def assert_still_serving(sb) -> None:
    r = sb.run("print(6 * 7)")
    assert (r.status, r.stdout) == ("ok", "42\n")


def wait_for_no_children(sb, timeout: float = 5.0) -> list[dict]:
    """The zygotes have reaped every stateless child (sessions excluded)."""
    deadline = time.monotonic() + timeout
    while True:
        stats = sb.stats()
        if all(s["children"] == s["sessions"] for s in stats) or time.monotonic() > deadline:
            return stats
        time.sleep(0.05)


# ---------------------------------------------------------------------------------- time


@pytest.mark.parametrize(
    "code",
    [
        "while True:\n    pass",
        "import time\ntime.sleep(100)",
        "x = 10\ny = x ** (x ** 9)",  # a single C-level big-integer power: never returns to the eval loop
        "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass",
    ],
    ids=["busy-loop", "sleep", "bigint-power", "ignores-signals"],
)
def test_wall_clock_timeout_kills_the_process_group(sandbox, code):
    start = time.monotonic()
    r = sandbox.run(code, timeout=1.0)
    assert r.status == "timeout"
    assert time.monotonic() - start < 30  # returned at all (a hang would hit pytest's limit)
    assert_still_serving(sandbox)
    stats = wait_for_no_children(sandbox)
    assert all(s["children"] == s["sessions"] for s in stats)


# -------------------------------------------------------------------------------- memory


@pytest.mark.parametrize(
    "code",
    [
        "a = [0] * 10**10",
        "b = bytearray(8 << 30)",
        "s = 'x' * (4 << 30)",
        "import numpy as np\nz = np.zeros(10**10)",
        "chunks = []\nwhile True:\n    chunks.append(bytearray(20 << 20))",
    ],
    ids=["list", "bytearray", "str", "numpy", "growing"],
)
def test_memory_bombs_hit_the_address_space_limit(sandbox, code):
    r = sandbox.run(code, timeout=20)  # touching ~1 GiB of pages is slow on a loaded VM
    assert r.status == "memory"
    assert "MemoryError" in r.error
    assert_still_serving(sandbox)


def test_memory_error_in_session_keeps_state(sandbox):
    with sandbox.session() as s:
        s.run("kept = 'yes'")
        assert s.run("b = bytearray(8 << 30)").status == "memory"
        assert s.run("print(kept)").stdout == "yes\n"
        assert s.restarts == 0  # MemoryError was caught in the child: no rebuild needed


# ------------------------------------------------------------------------------ processes


@pytest.mark.parametrize(
    "code",
    [
        "import os\nwhile True:\n    os.fork()",
        "import subprocess\nprint(subprocess.run(['echo', 'escaped'], capture_output=True).stdout)",
        "import os\nrc = os.system('echo escaped > /tmp/escaped')\nprint('rc', rc)",
        "import multiprocessing\np = multiprocessing.Process(target=print)\np.start()",
        "import os\nos.execv('/bin/echo', ['echo', 'escaped'])",
    ],
    ids=["fork-bomb", "subprocess", "os.system", "multiprocessing", "execv"],
)
def test_no_new_processes(sandbox, code):
    r = sandbox.run(code)
    assert "escaped" not in r.stdout
    assert r.status in ("error", "ok")  # refused with an exception (os.system returns an error code)
    if r.status == "ok":
        assert r.stdout.startswith("rc ") and r.stdout != "rc 0\n"
    assert_still_serving(sandbox)
    stats = wait_for_no_children(sandbox)
    assert all(s["children"] == s["sessions"] for s in stats)


def test_cannot_kill_parent_zygote_or_siblings(sandbox):
    pids_before = [z.proc.pid for z in sandbox._zygotes]
    with sandbox.session() as sibling:
        sibling.run("alive = 'sibling state'")
        for code, expected in [
            ("import os\nos.kill(os.getppid(), 9)", "error"),  # the zygote: PID 1 of its namespace
            ("import os\nos.kill(1, 9)", "error"),
            (f"import os\nos.kill({os.getpid()}, 9)", "error"),  # the test process, by its host PID
            ("import os\nos.kill(-1, 9)", None),  # "all it may signal": nothing outside itself (ok or EPERM)
            ("import os, signal\nos.killpg(os.getpgid(os.getppid()), signal.SIGKILL)", "killed"),  # own group
        ]:
            assert sandbox.run(code).status == expected or expected is None
            assert_still_serving(sandbox)
        assert sibling.run("print(alive)").stdout == "sibling state\n"
        assert sibling.restarts == 0
    assert [z.proc.pid for z in sandbox._zygotes] == pids_before  # no zygote was restarted
    assert all(z.proc.poll() is None for z in sandbox._zygotes)


def test_host_pids_are_invisible(sandbox):
    r = sandbox.run(
        f"import os\ntry:\n    os.kill({os.getpid()}, 0)\nexcept OSError as e:\n    print(type(e).__name__)"
    )
    assert r.stdout in ("ProcessLookupError\n", "PermissionError\n")


def test_each_child_has_its_own_unprivileged_uid(sandbox):
    with sandbox.session() as a, sandbox.session() as b:
        ua = a.run("import os\nprint(os.getuid())").stdout
        ub = b.run("import os\nprint(os.getuid())").stdout
    if os.geteuid() != 0:
        pytest.skip("uid separation needs the sandbox to be started as root")
    assert int(ua) >= UID_BASE and int(ub) >= UID_BASE
    assert ua != ub


# -------------------------------------------------------------------------------- network


def test_socket_connect_to_local_server_receives_nothing(sandbox):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    received: list = []

    def accept_all():
        server.settimeout(1.5)
        try:
            conn, _ = server.accept()
            received.append(conn.recv(100))
            conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=accept_all)
    thread.start()
    try:
        code = (
            "import socket\n"
            f"s = socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
            "s.sendall(b'exfiltrated')\nprint('connected')"
        )
        r = sandbox.run(code)
        thread.join()
    finally:
        server.close()
    assert received == []
    assert r.status == "error"
    assert "connected" not in r.stdout
    assert_still_serving(sandbox)


def test_no_sockets_at_all(sandbox):
    r = sandbox.run("import socket\ns = socket.socket(socket.AF_UNIX)")
    assert r.status == "error"
    assert "PermissionError" in r.error


# ----------------------------------------------------------------------------- filesystem


def test_write_outside_temp_dir_creates_nothing(sandbox, tmp_path):
    targets = [f"/tmp/mathforge-escape-{uuid.uuid4().hex}", str(tmp_path / "escape.txt")]
    for target in targets:
        r = sandbox.run(f"with open({target!r}, 'w') as fh:\n    fh.write('escaped')")
        assert r.status == "error"
        assert not os.path.exists(target)
    r = sandbox.run("import os\nos.makedirs('/tmp/mathforge-escape-dir')")
    assert r.status == "error" and not os.path.exists("/tmp/mathforge-escape-dir")
    assert_still_serving(sandbox)


def test_private_temp_dir_is_writable_and_removed(sandbox):
    r = sandbox.run(
        "import os\nopen('data.txt', 'w').write('x' * 100)\nprint(os.getcwd())\nprint(os.listdir('.'))"
    )
    assert r.status == "ok"
    cwd, listing = r.stdout.splitlines()
    assert listing == "['data.txt']"
    wait_for_no_children(sandbox)
    assert not os.path.exists(cwd)


def test_cannot_read_private_files(sandbox, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    r = sandbox.run(f"print(open({str(secret)!r}).read())")
    assert r.status == "error"
    assert "top secret" not in r.stdout


def test_file_size_limit(sandbox):
    r = sandbox.run("with open('big.bin', 'wb') as fh:\n    fh.write(b'0' * (64 << 20))")
    assert r.status == "error"
    assert "File too large" in r.error


def test_open_files_limit(sandbox):
    r = sandbox.run("handles = [open('f%d' % i, 'w') for i in range(1000)]")
    assert r.status == "error"
    assert "Too many open files" in r.error


# ------------------------------------------------------------------------ environment, stdio


def test_parent_environment_is_not_visible(sandbox, monkeypatch):
    monkeypatch.setenv("MATHFORGE_TEST_SECRET", "hunter2")
    # a sandbox started *after* the variable is set: it still must not inherit it
    from mathforge.sandbox import Sandbox

    with Sandbox(workers=1, preload=("math",)) as fresh:
        for sb in (sandbox, fresh):
            r = sb.run(
                "import os\nprint(os.environ.get('MATHFORGE_TEST_SECRET'))\n"
                "try:\n    raw = open('/proc/self/environ', 'rb').read()\nexcept OSError:\n    raw = b''\n"
                "print(b'hunter2' in raw)"
            )
            assert r.stdout == "None\nFalse\n"


def test_stdin_is_empty(sandbox):
    r = sandbox.run("x = input()")
    assert (r.status, r.error) == ("error", "EOFError: EOF when reading a line")
    r = sandbox.run("import sys\nprint(repr(sys.stdin.read()))")
    assert r.stdout == "''\n"


def test_printing_100_mb_is_capped(sandbox):
    r = sandbox.run("print('x' * 100_000_000)\nprint('done')", timeout=30)  # 100 MB of page faults
    assert r.status == "truncated"
    assert len(r.stdout.encode()) == 256 << 10
    r = sandbox.run("for i in range(10**5):\n    print('line', i, '-' * 20)", timeout=30)
    assert r.status == "truncated"
    assert r.stdout.startswith("line 0 ---")
    assert_still_serving(sandbox)


def test_closing_fd_1_and_2_does_not_lose_output(sandbox):
    r = sandbox.run("import os\nos.close(1)\nos.close(2)\nprint('still here')")
    assert (r.status, r.stdout) == ("ok", "still here\n")


def test_closing_every_fd_is_contained(sandbox):
    r = sandbox.run("import os\nos.closerange(0, 1024)\nprint('after')")
    assert r.status == "killed"  # it closed its own report channel: nothing comes back
    assert_still_serving(sandbox)


# ----------------------------------------------------------------------- exits, interrupts


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("import sys\nsys.exit()", "SystemExit"),
        ("import sys\nsys.exit(3)", "SystemExit: 3"),
        ("raise SystemExit('bye')", "SystemExit: bye"),
        ("raise KeyboardInterrupt", "KeyboardInterrupt"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGINT)", "KeyboardInterrupt"),
    ],
)
def test_exit_and_interrupt_are_errors_and_sessions_survive(sandbox, code, error):
    r = sandbox.run(code)
    assert (r.status, r.error) == ("error", error)
    with sandbox.session() as s:
        s.run("state = 1")
        assert s.run(code).error == error
        assert s.run("print(state)").stdout == "1\n"
        assert s.restarts == 0


def test_os_exit_in_session_rebuilds(sandbox):
    with sandbox.session() as s:
        s.run("state = 2")
        assert s.run("import os\nos._exit(0)").status == "killed"
        assert s.run("print(state)").stdout == "2\n"
        assert s.restarts == 1


# ---------------------------------------------------------------------------------- threads


def test_threads_left_running(sandbox):
    code = (
        "import threading, time\n"
        "def spin():\n    while True:\n        print('ghost')\n        time.sleep(0.001)\n"
        "threading.Thread(target=spin, daemon=False).start()\nprint('started')"
    )
    r = sandbox.run(code)
    assert r.status == "ok"
    assert "started\n" in r.stdout
    assert "ghost" not in sandbox.run("print('clean')").stdout
    stats = wait_for_no_children(sandbox)
    assert all(s["children"] == s["sessions"] for s in stats)  # the child and its thread are gone
    with sandbox.session() as s:
        assert s.run(code).status == "ok"
        r = s.run("import threading\nprint(threading.active_count())")
        assert r.status == "ok" and int(r.stdout.split()[-1]) == 2  # still there, still answering
    stats = wait_for_no_children(sandbox)
    assert all(s["children"] == s["sessions"] for s in stats)  # close() killed it


# --------------------------------------------------------------------------------- CPU limit


def test_cpu_limit_kills_a_session_that_spends_its_budget(sandbox):
    with sandbox.session(timeout=30.0, cpu=1) as s:
        s.run("before = 1")
        r = s.run("while True:\n    pass")
        assert r.status == "timeout"
        assert "CPU" in r.error  # RLIMIT_CPU fired, long before the 30 s wall clock
        assert s.run("print(before)").stdout == "1\n"
