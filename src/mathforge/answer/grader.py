"""A pool of grading processes with a hard wall-clock kill per pair.

math-verify's own timeout uses ``signal.alarm``, which cannot interrupt a C-level big-integer operation
(``9^{9^{9}}``) and does not work outside the main thread. So each pair runs in a worker process; when a
pair overruns its timeout the worker is killed (SIGKILL), replaced, and the pair is graded false with
status ``"timeout"``. Plain numbers never leave the parent: the exact fast path decides them in microseconds.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import wait

from mathforge.answer.equiv import fast_verdict
from mathforge.answer.options import GradeOptions

# how long a fresh worker may take to import math-verify/sympy before it counts as broken
_STARTUP_TIMEOUT = 120.0
# workers that die before saying "ready" this many times in a row mean a broken setup, not a bad pair
_MAX_FAILED_STARTS = 3


@dataclass
class GradeResult:
    correct: bool
    status: str = "ok"  # "ok" | "timeout" | "error"
    error: str | None = None


def _worker_main(conn, percent: bool, memory: int | None) -> None:
    """Grade (index, pred, gold, options, fast) messages until a ``None`` arrives; each reply is
    (index, correct, status, error)."""
    if memory:
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        except (ImportError, ValueError, OSError):
            pass
    import mathforge.answer._warmup  # noqa: F401  (a no-op when the fork server already imported it)
    from mathforge.answer.equiv import slow_verdict

    conn.send("ready")
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        index, pred, gold, options, fast = msg
        try:
            conn.send((index, bool(slow_verdict(pred, gold, percent, options, fast=fast)), "ok", None))
        except MemoryError:
            conn.send((index, False, "error", "MemoryError"))
        except Exception as exc:  # garbage input grades false; the status says why
            conn.send((index, False, "error", f"{type(exc).__name__}: {exc}"[:300]))


@contextmanager
def _without_main_module():
    """Start children without re-running the parent's ``__main__`` script in them.

    Spawn/forkserver children normally re-import the main script (as ``__mp_main__``); a script that grades
    at top level, with no ``if __name__ == "__main__":`` guard, would then grade again inside every worker.
    Our workers need nothing from ``__main__``, so hide its path while a worker starts.
    """
    main = sys.modules.get("__main__")
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if main is not None and k in main.__dict__}
    try:
        if "__file__" in saved:
            del main.__dict__["__file__"]
        if "__spec__" in saved:
            main.__dict__["__spec__"] = None
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)


class _Worker:
    def __init__(self, ctx, percent: bool, memory: int | None):
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main, args=(child, percent, memory), daemon=True)
        with _without_main_module():
            self.proc.start()
        child.close()
        self.ready = False
        self.started = time.monotonic()
        self.task: int | None = None
        self.deadline = 0.0

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(timeout=5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, BrokenPipeError):
            pass
        self.proc.join(timeout=2)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=5)
        self.conn.close()


def _with_options(pair: tuple) -> tuple:
    if len(pair) == 2:
        return pair[0], pair[1], GradeOptions()
    if len(pair) == 3:
        return pair[0], pair[1], GradeOptions.coerce(pair[2])
    raise ValueError(f"a pair is (pred, gold) or (pred, gold, options), got {len(pair)} items")


def _context():
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        # every worker is forked from a server that already imported math-verify: respawns are cheap
        ctx.set_forkserver_preload(["mathforge.answer._warmup"])
        return ctx
    return mp.get_context("spawn")


class Grader:
    """Grade (pred, gold) pairs in ``workers`` processes; a pair running past ``timeout`` s is killed.

    >>> with Grader(workers=2, timeout=5.0) as grader:
    ...     results = grader.grade_many([("0.5", "\\\\frac12"), ("9^{9^{9}}", "1")])
    >>> [(r.correct, r.status) for r in results]
    [(True, 'ok'), (False, 'timeout')]
    """

    def __init__(
        self,
        workers: int | None = None,
        timeout: float = 5.0,
        percent: bool = False,
        memory: int | None = 4 << 30,
        fast_path: bool = True,
    ):
        self.workers = max(1, workers if workers is not None else min(4, os.cpu_count() or 1))
        self.timeout = float(timeout)
        self.percent = percent
        self.memory = memory
        self.fast_path = fast_path  # False sends every pair to math-verify (tests of math-verify itself)
        self.timeouts = 0
        self.errors = 0
        self._ctx = None
        self._pool: list[_Worker] = []
        self._closed = False
        self._failed_starts = 0
        self._lock = threading.Lock()  # one grade_many at a time: callers may share a Grader across threads

    # -- public ---------------------------------------------------------------------------------------
    def grade(self, pred, gold, options: GradeOptions | dict | None = None) -> GradeResult:
        return self.grade_many([(pred, gold, options)])[0]

    def equiv_many(self, pairs: Iterable[tuple]) -> list[bool]:
        """Verdicts only: the ``equiv_many`` that :func:`mathforge.answer.answer_classes` takes."""
        return [r.correct for r in self.grade_many(pairs)]

    def grade_many(
        self, pairs: Iterable[tuple], on_result: Callable[[int, GradeResult], None] | None = None
    ) -> list[GradeResult]:
        """Results in the order of ``pairs``; ``on_result(index, result)`` is called as each one lands.

        A pair is ``(pred, gold)`` or ``(pred, gold, options)``, options being a problem's grading options
        (:class:`GradeOptions`, or the dict in ``Problem.meta["grading"]``).
        """
        with self._lock:
            return self._grade_many(list(pairs), on_result)

    def _grade_many(self, pairs: list, on_result) -> list[GradeResult]:
        if self._closed:
            raise RuntimeError("Grader is closed")
        pairs = [_with_options(pair) for pair in pairs]  # a bad options dict fails here, before any work
        results: list[GradeResult | None] = [None] * len(pairs)
        todo: deque[int] = deque()
        for i, (pred, gold, options) in enumerate(pairs):
            verdict = fast_verdict(pred, gold, self.percent, options) if self.fast_path else None
            if verdict is None and (pred is None or gold is None):
                verdict = False
            if verdict is None:
                todo.append(i)
            else:
                self._finish(results, i, GradeResult(verdict), on_result)
        if todo:
            self._run_pool(pairs, todo, results, on_result)
        return results  # type: ignore[return-value]

    def start(self) -> Grader:
        """Start all workers now and wait until they are ready (otherwise they start on first use)."""
        with self._lock:
            return self._start()

    def _start(self) -> Grader:
        while len(self._pool) < self.workers:
            self._pool.append(self._spawn())
        for worker in self._pool:
            if not worker.ready:
                if not worker.conn.poll(_STARTUP_TIMEOUT) or worker.conn.recv() != "ready":
                    raise RuntimeError("a grading worker did not start; is math-verify installed?")
                worker.ready = True
        return self

    def close(self) -> None:
        with self._lock:
            for worker in self._pool:
                worker.stop()
            self._pool = []
            self._closed = True

    def __enter__(self) -> Grader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            for worker in self._pool:
                worker.kill()
        except Exception:
            pass

    # -- pool ------------------------------------------------------------------------------------------
    def _finish(self, results, index, result, on_result) -> None:
        results[index] = result
        if result.status == "timeout":
            self.timeouts += 1
        elif result.status == "error":
            self.errors += 1
        if on_result is not None:
            on_result(index, result)

    def _spawn(self) -> _Worker:
        if self._ctx is None:
            self._ctx = _context()
        return _Worker(self._ctx, self.percent, self.memory)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self._pool[self._pool.index(worker)] = self._spawn()

    def _run_pool(self, pairs, todo: deque[int], results, on_result) -> None:
        wanted = min(self.workers, len(todo))
        while len(self._pool) < wanted:
            self._pool.append(self._spawn())
        pending = len(todo)
        while pending:
            now = time.monotonic()
            for worker in self._pool:
                if worker.ready and worker.task is None and todo:
                    index = todo.popleft()
                    pred, gold, options = pairs[index]
                    worker.task, worker.deadline = index, now + self.timeout
                    message = (index, str(pred).strip(), str(gold).strip(), options.to_dict(), self.fast_path)
                    worker.conn.send(message)
            deadlines = [
                w.deadline if w.ready else w.started + _STARTUP_TIMEOUT
                for w in self._pool
                if w.task is not None or not w.ready
            ]
            wait_for = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            ready_conns = wait([w.conn for w in self._pool], timeout=wait_for)
            for worker in list(self._pool):
                if worker.conn in ready_conns:
                    try:
                        msg = worker.conn.recv()
                    except (EOFError, OSError):  # the worker died (e.g. killed by the OOM killer)
                        if not worker.ready:
                            self._failed_starts += 1
                            if self._failed_starts >= _MAX_FAILED_STARTS:
                                raise RuntimeError(
                                    f"{self._failed_starts} grading workers in a row died while starting "
                                    f"(exit code {worker.proc.exitcode}); is math-verify importable?"
                                ) from None
                        pending -= self._fail(worker, "error", "worker died", results, on_result)
                        continue
                    if msg == "ready":
                        worker.ready = True
                        self._failed_starts = 0
                        continue
                    index, correct, status, error = msg
                    worker.task = None
                    self._finish(results, index, GradeResult(correct, status, error), on_result)
                    pending -= 1
            now = time.monotonic()
            for worker in list(self._pool):
                if worker.task is not None and now >= worker.deadline:
                    pending -= self._fail(worker, "timeout", f"over {self.timeout:g}s", results, on_result)
                elif not worker.ready and now >= worker.started + _STARTUP_TIMEOUT:
                    raise RuntimeError("a grading worker did not start; is math-verify installed?")

    def _fail(self, worker: _Worker, status: str, error: str, results, on_result) -> int:
        """Grade the worker's pair false with ``status``, replace the worker; returns pairs finished (0/1)."""
        index = worker.task
        self._replace(worker)
        if index is None:
            return 0
        self._finish(results, index, GradeResult(False, status, error), on_result)
        return 1
