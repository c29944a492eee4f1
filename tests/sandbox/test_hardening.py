"""Issue #12, sandbox side: no program stops a run or loses a row. One test (or more) per defect found by
the outside test, each through the real sandbox, named after the defect.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mathforge.io import JsonlAppender, read_jsonl
from mathforge.sandbox import Sandbox
from mathforge.sandbox.pool import TooManySessions
from mathforge.sandbox.tempdirs import stale_dirs

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src")
LIGHT = ("math",)

# prepended to hostile cells: find the child's own result channel and write to it (see the file)
CHANNEL = (Path(__file__).parent / "channel_snippet.py").read_text() + "\n"


def zygote_pids(sb: Sandbox) -> list[int]:
    return [z.proc.pid for z in sb._zygotes]


def assert_serving(sb: Sandbox) -> None:
    r = sb.run("print(6 * 7)")
    assert (r.status, r.stdout) == ("ok", "42\n")


def report_of(sb: Sandbox) -> dict:
    return sb.submit("pass", report=True).result().report


def wait_until(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# ---------------------------------------------------------------- 1: lone surrogates in output


def test_lone_surrogate_in_output_reaches_the_row_as_valid_text_and_is_counted(sandbox, tmp_path):
    r = sandbox.run("print('\\udcff')")
    assert (r.status, r.stdout, r.replaced) == ("ok", "\ufffd\n", 1)
    r.stdout.encode("utf-8")  # what the tokenizer, the HTTP client and the row writer need
    with JsonlAppender(tmp_path / "predictions.jsonl", key=lambda row: row["id"]) as out:
        out.write({"id": "p1", **r.to_dict()})
    assert [row["stdout"] for _, row in read_jsonl(tmp_path / "predictions.jsonl")] == ["\ufffd\n"]


@pytest.mark.parametrize(
    ("code", "stdout", "error_part", "replaced"),
    [
        ("import sys\nsys.stdout.buffer.write(b'a\\xff\\xfeb')", "a\ufffd\ufffdb", "", 2),
        (
            "import sys\nsys.stdout.buffer.write(b'\\xe2\\x82')\nsys.stdout.buffer.write(b'\\xac')",
            "\u20ac",
            "",
            0,
        ),
        ("raise ValueError('bad \\ud800 value')", "", "ValueError: bad \ufffd value", 1),
        ("import sys\nprint('x\\udfff', file=sys.stderr)\nprint('\\ud83d\\ude00')", "\ufffd\ufffd\n", "", 3),
    ],
    ids=["undecodable-bytes", "split-utf8", "surrogate-in-error", "stderr-and-pair"],
)
def test_invalid_text_anywhere_in_a_result_is_replaced_and_counted(
    sandbox, code, stdout, error_part, replaced
):
    r = sandbox.run(code)
    assert r.stdout == stdout and r.error.endswith(error_part) and r.replaced == replaced
    json.dumps(r.to_dict(), ensure_ascii=False).encode("utf-8")


def test_lone_surrogate_in_a_session_cell_is_replaced(sandbox):
    with sandbox.session() as s:
        s.run("bad = '\\udcff'")
        r = s.run("print(bad * 3)")
        assert (r.stdout, r.replaced) == ("\ufffd\ufffd\ufffd\n", 3)


# ------------------------------------------------------------------ 3: one cell crashes its zygote


@pytest.fixture(scope="module")
def one_zygote():
    with Sandbox(workers=1, light_workers=0, timeout=10, memory=1 << 30, max_concurrent=2) as sb:
        yield sb


def _run_beside_other_work(sb: Sandbox, hostile: str):
    """Run ``hostile`` while a stateless cell and a session cell (with a side effect) are in flight."""
    pids = zygote_pids(sb)
    with sb.session(tier="full") as s:
        s.run("effects = 0")
        other = sb.submit("import time\ntime.sleep(1.0)\nprint('other done')")
        session_cell = _background(s.run, "import time\neffects += 1\ntime.sleep(1.0)\nprint(effects)")
        time.sleep(0.2)  # both are running when the hostile cell arrives
        hostile_result = sb.run(hostile)
        assert other.result().stdout == "other done\n"
        assert session_cell.result().stdout == "1\n"
        assert s.run("print(effects)").stdout == "1\n"  # run once, not re-executed by a replay
        assert s.restarts == 0
    assert zygote_pids(sb) == pids  # the zygote never died
    assert_serving(sb)
    return hostile_result


def _background(fn, *args):
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1)
    future = pool.submit(fn, *args)
    pool.shutdown(wait=False)
    return future


def test_deeply_nested_temp_dirs_do_not_crash_the_zygote(one_zygote):
    nest = "import os\nfor i in range(3000):\n    os.mkdir('d')\n    os.chdir('d')\nprint('nested')"
    r = _run_beside_other_work(one_zygote, nest)
    assert (r.status, r.stdout) == ("ok", "nested\n")
    assert wait_until(lambda: one_zygote.stats()[0]["temp_dirs"] == one_zygote.stats()[0]["children"])


def test_deeply_nested_temp_dirs_on_a_plain_temp_dir_are_removed_in_slices(tmp_path):
    """Without a tmpfs per child the zygote deletes the tree itself: iteratively, in slices."""
    with Sandbox(
        workers=1, light_workers=0, preload=LIGHT, tmpfs=False, temp_root=str(tmp_path), timeout=60
    ) as sb:
        nest = (
            "import os\nfor i in range(3000):\n    os.mkdir('d')\n    os.chdir('d')\n"
            "    if i % 100 == 0:\n        open('f', 'w').close()"
        )
        assert _run_beside_other_work(sb, nest).status == "ok"
        base = sb.info[0]["temp_dir"]
        assert wait_until(lambda: os.listdir(base) == [] or sb.stats()[0]["temp_dirs"] == 0, timeout=60)
        assert sb.stats()[0]["temp_dirs"] == 0


def test_forged_deeply_nested_reply_kills_only_that_child(one_zygote):
    forged = CHANNEL + "forge(b'{\"stdout\":' + b'[' * 900 + b']' * 900 + b'}')\nimport time\ntime.sleep(5)"
    r = _run_beside_other_work(one_zygote, forged)
    assert r.status == "killed" and "protocol" in r.error


@pytest.mark.parametrize(
    "body",
    [
        b'{"stdout": 1, "status": "ok"}',
        b'{"stdout": "x", "status": "ok", "report": {"a": [true, "b"]}}',  # a report nobody asked for
        b'{"stdout": "x", "status": "owned"}',
        b'{"stdout": "x", "status": "ok", "replaced": -1}',
        b'{"stdout": "x", "status": "ok", "extra": 1}',
        b'{"stdout": "' + b"x" * (300 << 10) + b'", "status": "ok"}',  # over the output cap
        b"[1, 2, 3]",
        b"\xff\xfe not json",
    ],
    ids=[
        "not-a-string",
        "unasked-report",
        "bad-status",
        "bad-count",
        "extra-field",
        "oversized",
        "array",
        "bytes",
    ],
)
def test_forged_malformed_reply_is_refused_field_by_field(sandbox, body):
    pids = zygote_pids(sandbox)
    r = sandbox.run(CHANNEL + f"forge({body!r})\nimport time\ntime.sleep(5)")
    assert r.status == "killed" and "protocol" in r.error
    assert zygote_pids(sandbox) == pids
    assert_serving(sandbox)


def test_cell_larger_than_64_mib_is_an_error_result_and_the_zygote_lives(one_zygote):
    big = "x = '" + "a" * (65 << 20) + "'"
    r = _run_beside_other_work(one_zygote, big)
    assert r.status == "error" and "64 MiB" in r.error
    with one_zygote.session() as s:
        s.run("kept = 1")
        assert s.run(big).status == "error"
        assert s.run("print(kept)").stdout == "1\n" and s.restarts == 0
        assert s.history == ["kept = 1", "print(kept)"]


# ------------------------------------------------------------ 7: a session cell forges its result


# run on the soak test's worker, never beside it: the soak's thousands of children share the sandbox uid with
# this test's rebuilt child, which then kept dying three times in a row (measured with -n 2)
@pytest.mark.xdist_group("sandbox-soak")
def test_forged_session_reply_then_real_one_kills_the_child_and_drops_the_forger(one_zygote):
    # a wide deadline: the rebuilt child replays the history before the next cell, which on a loaded
    # machine can take longer than the default limit (a timed-out replay would read as 'killed')
    with one_zygote.session(tier="full", timeout=30) as s:
        s.run("state = 'honest'")
        r = s.run(CHANNEL + "forge_reply('forged\\n')\nstate = 'forger ran'")
        assert r.stdout == "forged\n"  # a cell owns its process: what it claims for itself stands
        r = s.run("print(state)")  # its real reply came after the forged one: a protocol violation
        assert (r.status, r.stdout) == ("ok", "honest\n"), r.error
        # the violation rebuilds the child once; on a loaded machine the rebuild's replay can miss a deadline
        # and be rebuilt again, which changes nothing of what it holds
        assert s.restarts >= 1
        assert s.history == ["state = 'honest'", "print(state)"]


def test_forged_session_reply_buys_no_time_after_it(one_zygote):
    """A cell forges its reply and keeps running: it is frozen until the next cell, which it then holds
    up past that cell's deadline; the zygote sees the next cell was never read, blames the forger, and
    the next cell runs in a child rebuilt without it."""
    with one_zygote.session(tier="full", timeout=1.5) as s:
        s.run("state = 'honest'")
        r = s.run(CHANNEL + "forge_reply('forged\\n')\nimport time\ntime.sleep(60)\nstate = 'forger ran'")
        assert (r.status, r.stdout) == ("ok", "forged\n")
        assert one_zygote.stats()[0]["stopped"] >= 1  # frozen while no cell runs
        r = s.run("print(state)")
        assert (r.status, r.stdout) == ("ok", "honest\n")
        # one rebuild drops the forger; on a loaded machine a rebuilt child can also miss the 1.5 s deadline
        # once more and be rebuilt again, which changes nothing of what it holds
        assert s.history == ["state = 'honest'", "print(state)"] and s.restarts >= 1
        stats = one_zygote.stats()[0]
        assert stats["children"] == stats["sessions"]  # the forger's sleep(60) did not outlive the deadline


def test_session_threads_do_not_run_between_cells(one_zygote):
    """What a forging cell would get (time outside any deadline), a background thread got too."""
    with one_zygote.session(tier="full") as s:
        s.run(
            "import threading, time\nticks = []\n"
            "def tick():\n    while True:\n        ticks.append(time.monotonic())\n        time.sleep(0.01)\n"
            "threading.Thread(target=tick, daemon=True).start()\ntime.sleep(0.1)"
        )
        time.sleep(1.0)  # no cell runs: the child is stopped
        r = s.run(  # the thread ticks again first (it resumed with this cell), then we look at the gaps
            "time.sleep(0.1)\ngaps = [b - a for a, b in zip(ticks, ticks[1:])]\nprint(max(gaps), len(ticks))"
        )
        longest, count = r.stdout.split()
        # the thread ticked while cells ran, then stood still for (at least) the pause between them; a
        # loaded machine can only lengthen gaps, so the margin is one-sided
        assert float(longest) >= 0.8 and int(count) >= 2


# ------------------------------------------------------------------- 8: limits per child, not per file


def test_memfd_and_sysv_shared_memory_are_refused(sandbox):
    require = report_of(sandbox).get("seccomp", (False, ""))
    if not require[0]:
        pytest.skip(f"seccomp not available here: {require[1]}")
    r = sandbox.run("import os\nfd = os.memfd_create('x')")
    assert r.status == "error" and "PermissionError" in r.error
    r = sandbox.run(
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.shmget(0, 1 << 20, 0o1600), ctypes.get_errno())"  # IPC_PRIVATE, IPC_CREAT | 0600
    )
    assert r.stdout == "-1 1\n"  # EPERM


def test_temp_dir_disk_and_file_count_are_capped_per_child():
    with Sandbox(workers=1, light_workers=0, preload=LIGHT, disk=8 << 20, files=200, timeout=20) as sb:
        tmpfs = report_of(sb).get("tmpfs", (False, "not reported"))
        if not tmpfs[0]:
            pytest.skip(f"no tmpfs per child here: {tmpfs[1]}")
        r = sb.run(  # 40 files of 4 MiB: each under the per-file limit, 160 MiB in all
            "chunk = b'x' * (4 << 20)\nn = 0\ntry:\n    for i in range(40):\n"
            "        open(f'f{i}', 'wb').write(chunk)\n        n += 1\nexcept OSError as e:\n    print(e.errno, n)"
        )
        assert r.stdout.split()[0] == "28" and int(r.stdout.split()[1]) <= 2  # ENOSPC at 8 MiB
        r = sb.run("n = 0\ntry:\n    for i in range(10_000):\n        open(f'e{i}', 'w').close()\n        n += 1\n"
                   "except OSError as e:\n    print(e.errno, n)")  # fmt: skip
        errno_, made = r.stdout.split()
        assert errno_ == "28" and int(made) < 200
        with sb.session() as s:  # the limits hold across a session's cells too
            s.run("open('a', 'wb').write(b'x' * (6 << 20))")
            r = s.run("open('b', 'wb').write(b'x' * (6 << 20))")
            assert r.status == "error" and "No space left" in r.error


def test_max_sessions_is_enforced_with_a_clear_error():
    with Sandbox(workers=1, light_workers=0, preload=LIGHT, max_sessions=3) as sb:
        sessions = [sb.session() for _ in range(3)]
        with pytest.raises(TooManySessions, match="max_sessions=3"):
            sb.session()
        sessions.pop().close()
        sessions.append(sb.session())  # a closed one frees its place
        sessions[0].run("x = 1")
        del sessions[0]  # ... and so does one dropped without close()
        gc.collect()
        sessions.append(sb.session())
        with pytest.raises(TooManySessions):
            sb.session()
        for s in sessions:
            s.close()


# ----------------------------------------------------------------------------- 10: sandbox parts


def test_dropped_sessions_do_not_skew_where_new_sessions_go():
    with Sandbox(workers=2, light_workers=0, preload=LIGHT) as sb:
        for _ in range(10):
            s = sb.session()
            s.run("x = 1")
            del s  # no close(): only __del__
        gc.collect()
        opened = [sb.session().open() for _ in range(10)]
        placed = [sb._zygotes.index(s._zygote) for s in opened]
        assert abs(placed.count(0) - placed.count(1)) <= 1, placed
        assert wait_until(lambda: sum(st["sessions"] for st in sb.stats()) == 10)
        for s in opened:
            s.close()


_HOLDER = """
import signal, sys, time
# stopped by these signals as a shell job is: a run started under nohup (or as a background job of a
# script) inherits SIGHUP (SIGINT) ignored, and then the signal would stop nothing
signal.signal(signal.SIGHUP, signal.SIG_DFL)
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.path.insert(0, {src!r})
from mathforge.sandbox import Sandbox
sb = Sandbox(workers=1, light_workers=1, preload=("math",), temp_root={root!r})
s = sb.session(tier="full")
s.run("open('state.txt', 'w').write('x')")
print(" ".join(info["temp_dir"] for info in sb.info), flush=True)
time.sleep(120)
"""


def _start_holder(root) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER.format(src=SRC, root=str(root))],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell job or a batch job has
    )
    dirs = proc.stdout.readline().split()
    assert len(dirs) == 2 and all(os.path.isdir(d) for d in dirs)
    return proc, dirs


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_stop_signal_to_the_process_group_leaves_no_temp_dirs(tmp_path, sig):
    proc, dirs = _start_holder(tmp_path)
    os.killpg(proc.pid, sig)  # what Ctrl-C, `timeout` or a scheduler does
    proc.wait(timeout=60)
    assert wait_until(lambda: not any(os.path.exists(d) for d in dirs), timeout=30), os.listdir(tmp_path)


def test_temp_dirs_of_a_kill9ed_sandbox_are_swept_by_the_next_one(tmp_path):
    proc, dirs = _start_holder(tmp_path)
    os.killpg(proc.pid, signal.SIGKILL)  # nothing can clean up after this
    proc.wait(timeout=60)
    assert all(os.path.isdir(d) for d in dirs)  # left behind, as expected
    # the kill is asynchronous: wait until the owners are dead (a later run would find them so anyway)
    assert wait_until(lambda: sorted(stale_dirs(str(tmp_path))) == sorted(dirs))
    foreign = tmp_path / "mathforge-sbx0-unowned"  # the old naming: nobody can tell its owner, kept
    foreign.mkdir()
    with Sandbox(workers=1, light_workers=0, preload=LIGHT, temp_root=str(tmp_path)) as sb:
        assert not any(os.path.exists(d) for d in dirs)
        assert foreign.exists()
        assert_serving(sb)


def _zygote_host_pid(sb: Sandbox) -> int:
    launcher = sb._zygotes[0].proc.pid
    try:
        with open(f"/proc/{launcher}/task/{launcher}/children") as fh:
            kids = fh.read().split()
    except OSError:
        kids = []
    return int(kids[0]) if kids else launcher  # no PID namespace: the launcher is the zygote


def test_child_reads_its_own_proc_self(sandbox):
    r = sandbox.run(
        "import os\nstatus = open('/proc/self/status').read()\n"
        "print(f'Pid:\\t{os.getpid()}' in status, len(os.listdir('/proc/self/fd')) >= 3)"
    )
    assert (r.status, r.stdout) == ("ok", "True True\n")


def test_child_cannot_read_the_zygotes_proc_entries_or_the_mount_table(sandbox):
    zygote = _zygote_host_pid(sandbox)
    targets = ["/proc/self/mountinfo", "/proc/self/mounts", "/proc/self/environ", "/proc/mounts"]
    for pid in sorted({"1", str(zygote), "{ppid}"}):
        targets += [
            f"/proc/{pid}/status",
            f"/proc/{pid}/cmdline",
            f"/proc/{pid}/mountinfo",
            f"/proc/{pid}/environ",
        ]
    code = textwrap.dedent(f"""
        import os
        readable = []
        for target in {targets!r}:
            target = target.replace('{{ppid}}', str(os.getppid()))
            try:
                data = open(target, 'rb').read()
                readable.append(target)
            except OSError:
                pass
        for target in ['/proc/1/fd', '/proc/{zygote}/fd', f'/proc/{{os.getppid()}}/fd']:
            try:
                os.listdir(target)
                readable.append(target)
            except OSError:
                pass
        print(readable)
    """)
    r = sandbox.run(code)
    assert (r.status, r.stdout) == ("ok", "[]\n")
