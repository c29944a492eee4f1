"""Soak: 10,000 mixed executions, then no leaked processes, file descriptors or temp dirs.

Mix: 16 concurrent sessions from threads (cheap cells, errors, prints, periodic timeouts and
``os._exit`` that force rebuilds by replay) plus stateless batches (ok, errors, memory errors,
timeouts, crashes, big prints). Most executions are session cells because they cost no fork; the
stateless share still forks about 1,500 children.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

import pytest

from mathforge.sandbox import Sandbox

TOTAL = 10_000
SESSIONS = 16
CELLS_PER_SESSION = 530  # 16 * 530 = 8,480 session cells
STATELESS = TOTAL - SESSIONS * CELLS_PER_SESSION  # 1,520

STATELESS_MIX = [
    ("print(sum(range({i})))", "ok"),
    ("x = {i} // 0", "error"),
    ("import sympy\nprint(sympy.factor({i} + 1))", "ok"),
    ("b = bytearray(4 << 30)", "memory"),
    ("import os\nos._exit(1)", "killed"),
    ("print('y' * 300_000)", "truncated"),
    ("print('{i}')", "ok"),
    ("from fractions import Fraction\nprint(Fraction({i}, 7))", "ok"),
    ("print(undefined_{i})", "error"),
    ("import math\nprint(math.comb(50, {i} % 50))", "ok"),
    ("import numpy as np\nprint(np.arange({i} % 10).sum())", "ok"),
    ("while True:\n    pass", "timeout"),
    ("print({i} ** 2)", "ok"),
    ("raise SystemExit({i})", "error"),
    ("import os\nos.kill(os.getpid(), 9)", "killed"),
    ("print([k * k for k in range(50)])", "ok"),
]


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(name))
    out, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def _snapshot(sb: Sandbox) -> dict:
    stats = sb.stats()
    return {
        "parent_fds": len(os.listdir("/proc/self/fd")),
        "processes": sorted(len(_descendants(z.proc.pid)) for z in sb._zygotes),
        "zygote_children": [s["children"] for s in stats],
        "zygote_fds": [s["fds"] for s in stats],
        "temp_dirs": [s["temp_dirs"] for s in stats],
    }


def _session_worker(sb: Sandbox, n: int, statuses: Counter, failures: list, lock: threading.Lock) -> None:
    local = Counter()
    with sb.session(timeout=2.0) as s:
        s.run(f"acc = {n}")
        expected = n
        for i in range(1, CELLS_PER_SESSION):
            if i % 97 == 0:
                r = s.run("import time\ntime.sleep(10)", timeout=0.3)
                want = "timeout"
            elif i % 131 == 0:
                r = s.run("import os\nos._exit(0)")
                want = "killed"
            elif i % 7 == 0:
                r = s.run("undefined_name")
                want = "error"
            elif i % 5 == 0:
                r = s.run("print(acc)")
                want = "ok"
                if r.stdout != f"{expected}\n":
                    failures.append((n, i, r.stdout, expected))
            else:
                r = s.run("acc += 1")
                want = "ok"
                if r.status == "ok":
                    expected += 1
            local[r.status] += 1
            if r.status != want:
                failures.append((n, i, r.status, want, r.error))
    with lock:
        statuses.update(local)
        statuses["session-opened"] += 1


@pytest.mark.slow
@pytest.mark.xdist_group("sandbox-soak")  # see test_hardening.py: not beside the forged-reply test
def test_soak_10k_mixed_executions_leak_nothing():
    # max_concurrent=4: children stuck until their time limit should not hold the others back
    with Sandbox(workers=2, timeout=2.0, memory=1 << 30, max_concurrent=4) as sb:
        sb.run_many(["print(1)"] * 4)  # warm: first forks allocate the zygotes' bookkeeping
        # a run is answered before its child is killed and reaped: the baseline waits for that
        deadline = time.monotonic() + 15
        while any((before := _snapshot(sb))["zygote_children"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(before["zygote_children"]), before
        statuses: Counter = Counter()
        failures: list = []
        lock = threading.Lock()
        threads = [
            threading.Thread(target=_session_worker, args=(sb, n, statuses, failures, lock))
            for n in range(SESSIONS)
        ]
        for t in threads:
            t.start()
        codes, wanted, slow = [], [], 0
        for i in range(STATELESS):
            code, want = STATELESS_MIX[i % len(STATELESS_MIX)]
            codes.append(code.format(i=i))
            wanted.append(want)
        for start in range(0, STATELESS, 200):
            for r, want in zip(
                sb.run_many(codes[start : start + 200], timeout=1.0), wanted[start : start + 200], strict=True
            ):
                statuses[r.status] += 1
                if r.status == "timeout" and want != "timeout":
                    slow += 1  # a cheap cell that missed its 1 s limit: a loaded machine, not a leak
                elif r.status != want:
                    failures.append(("stateless", r.status, want, r.error))
        for t in threads:
            t.join()
        executed = sum(v for k, v in statuses.items() if k != "session-opened") + SESSIONS
        assert executed == TOTAL
        assert failures == []
        # a loaded CI machine can stall a few cells past their limit; more than 2% would be a real slowdown
        assert slow <= STATELESS // 50, slow
        deadline = time.monotonic() + 15  # closed sessions are killed and reaped asynchronously
        while (after := _snapshot(sb)) != before and time.monotonic() < deadline:
            time.sleep(0.2)
        assert after == before, [s["live"] for s in sb.stats()]
        assert statuses["timeout"] > 100 and statuses["killed"] > 100 and statuses["memory"] > 50
