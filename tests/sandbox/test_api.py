"""The public API: stateless runs, sessions with replay, REPL mode, render(), concurrency."""

from __future__ import annotations

import asyncio
import threading

import pytest

from mathforge.sandbox import ExecResult, render


def test_run_prints_and_reports_ok(sandbox):
    r = sandbox.run("import sympy\nx = sympy.symbols('x')\nprint(sympy.solve(x**2 - 4, x))")
    assert r.status == "ok"
    assert r.stdout == "[-2, 2]\n"
    assert r.error == ""
    assert r.duration > 0


def test_error_is_last_traceback_line(sandbox):
    r = sandbox.run("print('before')\ny = x + 1")
    assert r.status == "error"
    assert r.error == "NameError: name 'x' is not defined"
    assert r.stdout == "before\n"


def test_syntax_error(sandbox):
    r = sandbox.run("def f(:\n  pass")
    assert r.status == "error"
    assert r.error.startswith("SyntaxError")


def test_stateless_runs_share_nothing(sandbox):
    assert sandbox.run("leak = 42").status == "ok"
    assert sandbox.run("print(leak)").error == "NameError: name 'leak' is not defined"


def test_repl_mode_shows_final_expression_only_when_nothing_printed(sandbox):
    assert sandbox.run("a = 6\na * 7", repl=True).stdout == "42"
    assert sandbox.run("a = 6\nprint('x')\na * 7", repl=True).stdout == "x\n"
    assert sandbox.run("None", repl=True).stdout == ""
    assert sandbox.run("a = 6\na * 7").stdout == ""  # off by default


def test_run_many_keeps_order(sandbox):
    codes = [f"print({i} * {i})" for i in range(40)]
    results = sandbox.run_many(codes)
    assert [r.stdout for r in results] == [f"{i * i}\n" for i in range(40)]


def test_session_keeps_variables_and_imports(sandbox):
    with sandbox.session() as s:
        assert s.run("from fractions import Fraction\nx = Fraction(1, 3)").status == "ok"
        r = s.run("print(x * 3, Fraction(1, 2))")
        assert (r.status, r.stdout) == ("ok", "1 1/2\n")
        assert s.run("print(undefined_name)").status == "error"
        assert s.run("print(x)").stdout == "1/3\n"  # an error does not lose state


def test_session_replays_successful_cells_after_timeout(sandbox):
    with sandbox.session(timeout=1.0) as s:
        s.run("total = 10")
        s.run("total += 5")
        s.run("this_fails")
        r = s.run("import time\ntime.sleep(60)")
        assert r.status == "timeout"
        r = s.run("print(total)")
        assert (r.status, r.stdout) == ("ok", "15\n")
        assert s.restarts == 1
        assert s.history == ["total = 10", "total += 5", "print(total)"]


def test_session_replays_after_child_exit(sandbox):
    with sandbox.session() as s:
        s.run("k = 3")
        r = s.run("import os\nos._exit(3)")
        assert r.status == "killed"
        assert s.run("print(k * 2)").stdout == "6\n"


def test_sessions_from_many_threads(sandbox):
    errors = []

    def worker(n: int) -> None:
        with sandbox.session() as s:
            s.run(f"acc = {n}")
            for _ in range(5):
                s.run("acc += 1")
            out = s.run("print(acc)").stdout
            if out != f"{n + 5}\n":
                errors.append((n, out))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_sessions_from_asyncio_tasks(sandbox):
    async def one(n: int) -> str:
        s = sandbox.session()
        try:
            await s.arun(f"v = {n} ** 2")
            return (await s.arun("print(v)")).stdout
        finally:
            s.close()

    async def main():
        return await asyncio.gather(*(one(n) for n in range(12)))

    assert asyncio.run(main()) == [f"{n * n}\n" for n in range(12)]


def test_render_like_tora():
    assert render(ExecResult("42\n")) == "42"
    assert render(ExecResult("partial\n", "ZeroDivisionError: division by zero", "error")) == (
        "ZeroDivisionError: division by zero"
    )
    assert render(ExecResult("", "TimeoutError: ...", "timeout")) == "Timeout Error"
    long = "a" * 300 + "b" * 300
    out = render(ExecResult(long), max_chars=400)
    assert out == "a" * 200 + "..." + "b" * 200
    both = render(ExecResult("partial", "ValueError: v", "error"), stdout_with_error=True)
    assert both == "partial\nValueError: v"


def test_imported_modules_static_scan():
    from mathforge.sandbox.pool import imported_modules

    assert imported_modules("import math\nfrom fractions import Fraction\nimport os.path") == {
        "math",
        "fractions",
        "os",
    }
    assert imported_modules("x = 1") == set()
    assert imported_modules("m = __import__('sympy')") is None
    assert imported_modules("import importlib\nimportlib.import_module('numpy')") is None
    assert imported_modules("from . import x") is None
    assert imported_modules("def f(:") == set()  # fails identically in any tier


def test_light_cells_run_without_the_heavy_stack_and_heavy_ones_with_it(sandbox):
    probe = "import sys\nprint('sympy' in sys.modules)"
    assert sandbox.run(probe).stdout == "False\n"  # lean zygote: nothing imported numpy/sympy
    assert sandbox.run("import sympy\n" + probe).stdout == "True\n"
    # a dynamic import cannot be seen statically: it goes to the full zygote, still fast and correct
    assert sandbox.run("np = __import__('numpy')\nprint(np.arange(4).sum())").stdout == "6\n"
    with sandbox.session(tier="full") as s:
        assert s.run(probe).stdout == "True\n"


def test_open_forks_the_child_before_the_first_cell():
    from mathforge.sandbox import Sandbox

    with Sandbox(workers=1, timeout=20) as sb:
        s = sb.session()
        assert sum(z["sessions"] for z in sb.stats()) == 0  # lazily: nothing forked yet
        assert s.open() is s
        assert sum(z["sessions"] for z in sb.stats()) == 1
        assert s.run("x = 2\nprint(x * 21)").stdout == "42\n"
        assert s.restarts == 0
        s.close()
        with pytest.raises(RuntimeError):
            s.open()


def test_auto_session_starts_lean_and_moves_with_its_state_at_the_first_heavy_import():
    from mathforge.sandbox import Sandbox

    probe = "import sys\nprint('sympy' in sys.modules)"
    with Sandbox(workers=1, timeout=20) as sb:
        s = sb.session()
        assert s.run("import math\nx = math.factorial(5)").ok
        assert s.run(probe).stdout == "False\n"  # still on the lean zygote
        r = s.run("from sympy import Rational\ny = Rational(x, 7)\n" + probe)
        assert (r.status, r.stdout) == ("ok", "True\n")  # moved, and x came along by replay
        assert s.run("print(x, y)").stdout == "120 120/7\n"
        assert (s.moved, s.restarts) == (True, 0)  # a move is not a restart
        s.close()
        # once most sessions move, new ones start on the full tier (no wasted lean fork)
        for _ in range(8):
            with sb.session() as t:
                t.run("import sympy")
        with sb.session() as u:
            assert u.tier == "full"
            assert u.run(probe).stdout == "True\n"
        lean = sb.session(tier="lean")  # explicit: stays lean even for a heavy import (slow, still right)
        assert lean.run("import sympy\nprint(sympy.Integer(2) ** 10)").stdout == "1024\n"
        assert not lean.moved
        lean.close()


def test_zygote_death_is_survived(sandbox):
    import os
    import signal

    with sandbox.session() as s:
        s.run("kept = 5")
        for z in sandbox._zygotes:
            os.kill(z.proc.pid, signal.SIGKILL)
            z.proc.wait()
        deadline = __import__("time").monotonic() + 10
        while not all(z.dead for z in sandbox._zygotes) and __import__("time").monotonic() < deadline:
            __import__("time").sleep(0.05)
        r = sandbox.run("print('back')")
        assert (r.status, r.stdout) == ("ok", "back\n")  # restarted on demand
        assert s.run("print(kept)").stdout == "5\n"  # rebuilt by replay in a new zygote
        assert s.restarts == 1


def test_forgotten_session_is_reclaimed(sandbox):
    import gc
    import time

    s = sandbox.session()
    s.run("x = 1")
    assert sum(st["sessions"] for st in sandbox.stats()) >= 1
    del s
    gc.collect()
    deadline = time.monotonic() + 5
    while sum(st["sessions"] for st in sandbox.stats()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sum(st["sessions"] for st in sandbox.stats()) == 0


def test_full_zygotes_put_their_heap_on_huge_pages(sandbox):
    from mathforge.sandbox.hugepages import thp_mode

    detail = sandbox.info[0]["huge_pages"]
    if thp_mode() not in ("always", "madvise"):
        assert "transparent huge pages" in detail
        return
    assert int(detail.split()[0]) > 0  # "N MiB of the warmed heap on 2 MiB pages ..."
    assert sandbox.run("print('still correct')").stdout == "still correct\n"


def test_cancelled_async_cell_does_not_break_the_sandbox(sandbox):
    async def main():
        task = asyncio.ensure_future(sandbox.arun("import time\ntime.sleep(0.5)\nprint('late')"))
        await asyncio.sleep(0.05)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        return await sandbox.arun("print('next')")

    assert asyncio.run(main()).stdout == "next\n"
