"""Parent side: :class:`Sandbox` (a pool of zygotes) and :class:`Session` (stateful cells).

Threading model: each zygote connection has one reader thread that resolves
``concurrent.futures.Future`` objects by request id, and a lock around writes. Nothing blocks while
holding a lock except a short ``sendall``, so any number of threads (or asyncio tasks, through
``arun``) can run cells at once; the zygotes decide how many stateless children run in parallel.
"""

from __future__ import annotations

import ast
import asyncio
import atexit
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
import weakref
from collections import deque
from collections.abc import Generator, Iterable
from concurrent.futures import Future
from pathlib import Path

from mathforge.sandbox.protocol import MAX_MESSAGE, ProtocolError, encode, recv_msg, send_msg
from mathforge.sandbox.result import ExecResult
from mathforge.sandbox.tempdirs import sweep_stale

# The lean tier: cells importing nothing beyond these (most GSM-style arithmetic) go to zygotes
# without numpy/sympy, whose much smaller address space makes fork + exit several times cheaper.
LIGHT_PRELOAD = (
    "math", "cmath", "fractions", "decimal", "itertools", "functools", "collections", "statistics",
    "random", "re", "operator", "string", "heapq", "bisect", "numbers", "datetime", "calendar", "time",
)  # fmt: skip
DEFAULT_PRELOAD = (
    "math", "cmath", "fractions", "decimal", "itertools", "functools", "collections", "statistics",
    "random", "re", "numpy", "sympy", "scipy",
)  # fmt: skip
_SRC_DIR = str(Path(__file__).resolve().parents[2])  # so the zygote imports this very mathforge


def _zygote_env() -> dict[str, str]:
    """The zygote's whole environment: nothing from ours (secrets stay out of /proc/*/environ)."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONPATH": _SRC_DIR,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONSAFEPATH": "1",  # no cwd on sys.path: it would also land in the children's read allowlist
        "OPENBLAS_NUM_THREADS": "1",  # one core per child; BLAS thread pools do not survive fork
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


# In CPython 3.11 the AST constructor's recursion bookkeeping is shared by threads (CPython gh-106905):
# two threads parsing at once (two sessions' cells) can fail with "SystemError: AST constructor
# recursion depth mismatch", as seen in tests/sandbox under load. A parse takes microseconds: serialize.
_PARSE_LOCK = threading.Lock()


def imported_modules(code: str) -> set[str] | None:
    """Top-level modules a cell imports statically; None if it may import dynamically (or is huge)."""
    if len(code) > 20_000:
        return None
    try:
        with _PARSE_LOCK:
            tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()  # it fails the same way wherever it runs
    except SystemError:  # see _PARSE_LOCK; whatever the cause, the full tier can run anything
        return None
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level or not node.module:
                return None
            roots.add(node.module.split(".")[0])
        elif _is_dynamic_import(node):
            return None
    return roots


def _is_dynamic_import(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return node.id in ("__import__", "exec", "eval", "compile")
    return isinstance(node, ast.Attribute) and node.attr == "import_module"


def _dead_result(error: str) -> ExecResult:
    return ExecResult(stdout="", error=error, status="killed")


class TooManySessions(RuntimeError):
    """``Sandbox.session()`` beyond ``max_sessions`` live sessions."""


class _Oversized(Exception):
    """A request whose message would exceed the zygote's limit (it would treat the stream as broken)."""

    def __init__(self, size: int):
        self.size = size

    def result(self) -> ExecResult:
        return ExecResult(
            stdout="",
            error=f"ValueError: the cell is {self.size / (1 << 20):.1f} MiB as a message; "
            f"the sandbox takes at most {MAX_MESSAGE >> 20} MiB",
            status="error",
        )


class _ZygoteHandle:
    """One zygote process, its socket, its reader thread and the futures it owes."""

    def __init__(self, cfg: dict):
        parent_end, child_end = socket.socketpair()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mathforge.sandbox.zygote", str(child_end.fileno())],
            pass_fds=[child_end.fileno()],
            env=_zygote_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            cwd="/",
        )
        child_end.close()
        self.sock = parent_end
        self.lock = threading.Lock()
        self.pending: dict[int, Future] = {}
        self.ids = itertools.count()
        self.dead = False
        self.outstanding = 0  # stateless runs in flight (for load balancing)
        self.sessions = 0
        self.dropped: deque[str] = deque()  # sids of sessions garbage-collected unclosed (see drop())
        self.ready: Future = Future()
        send_msg(self.sock, cfg)
        self.reader = threading.Thread(target=self._read_loop, name="mathforge-sandbox-reader", daemon=True)
        self.reader.start()

    def _read_loop(self) -> None:
        try:
            while True:
                msg = recv_msg(self.sock)
                if msg is None:
                    break
                if "ready" in msg or "fatal" in msg:
                    if not self.ready.done():
                        self.ready.set_result(msg)
                    continue
                with self.lock:
                    fut = self.pending.pop(msg.get("id"), None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)
        except (OSError, ProtocolError):
            pass
        with self.lock:
            self.dead = True
            pending, self.pending = self.pending, {}
        if not self.ready.done():
            self.ready.set_result({"fatal": "zygote exited during start-up"})
        for fut in pending.values():
            if not fut.done():
                fut.set_result({"dead": True})

    def request(self, msg: dict) -> Future:
        """Send ``msg``; the future resolves to the reply, ``{"dead": True}`` if the zygote died with it
        outstanding, or ``{"dead": True, "unsent": True}`` if it never left (so it surely did not run).

        Raises ``_Oversized`` (nothing sent) for a message over the zygote's limit.
        """
        fut: Future = Future()
        with self.lock:
            self._close_dropped()
            if self.dead:
                fut.set_result({"dead": True, "unsent": True})
                return fut
            rid = next(self.ids)
            data = encode(dict(msg, id=rid))
            if len(data) - 4 > MAX_MESSAGE:
                raise _Oversized(len(data))
            self.pending[rid] = fut
            try:
                self.sock.sendall(data)
            except OSError:
                self.pending.pop(rid, None)
                fut.set_result({"dead": True, "unsent": True})
        return fut

    def send(self, msg: dict) -> None:
        with self.lock:
            self._close_dropped()
            self._send_locked(msg)

    def _send_locked(self, msg: dict) -> None:
        if not self.dead:
            try:
                send_msg(self.sock, msg)
            except OSError:
                pass

    def drop(self, sid: str) -> None:
        """Close a session from ``Session.__del__``: no lock there (the garbage collector may run it in a
        thread that holds this one), so queue it; the next request sends the close and counts it."""
        self.dropped.append(sid)

    def _close_dropped(self) -> None:
        while self.dropped:
            sid = self.dropped.popleft()
            self.sessions -= 1
            self._send_locked({"op": "close", "sid": sid})

    def close(self, wait: float = 5.0) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # EOF: the zygote kills its children and exits
        except OSError:
            pass
        self.sock.close()
        try:
            self.proc.wait(wait)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(1.0)


def _to_result(msg: dict) -> ExecResult:
    if msg.get("dead"):
        return _dead_result("Killed: sandbox worker died")
    return ExecResult.from_dict(msg.get("result", {}))


def _request(z: _ZygoteHandle, msg: dict) -> Future:
    """``z.request``, with an oversized cell answered by an error result instead of being sent."""
    try:
        return z.request(msg)
    except _Oversized as big:
        fut: Future = Future()
        fut.set_result({"result": big.result().to_dict(), "alive": True, "oversized": True})
        return fut


class Sandbox:
    """A pool of zygote processes that run Python cells in isolated, forked children.

    ``workers``: zygotes (default: one per CPU core). ``timeout``: wall-clock seconds per cell.
    ``memory``: RLIMIT_AS per child in bytes (the warmed interpreter's own mappings count too).
    ``repl``: show the value of a final bare expression when a cell printed nothing.
    ``max_output``: bytes of stdout kept per cell (status ``truncated`` beyond).
    ``max_concurrent``: stateless children each zygote runs at once (2 overlaps one fork with one run).
    ``session_cpu``: total CPU seconds a session child may use over its life (RLIMIT_CPU hard limit).
    ``preload``: modules each zygote imports and warms; ``prelude``: code run once in each zygote whose
    globals every cell starts from (e.g. ``"import math\\nfrom sympy import *"``).
    ``read_paths``: extra files/dirs children may read (besides the interpreter and its libraries).
    ``disk`` / ``files``: bytes and files (inodes) of each child's own tmpfs temp dir, where the kernel
    allows one (``tmpfs=False`` uses a plain dir on ``temp_root``). ``max_sessions``: live sessions
    (created and not yet closed or collected) this Sandbox allows; ``session()`` beyond raises
    :class:`TooManySessions`. ``freeze_sessions``: stop a session's child between cells (its threads
    then run only under a cell's deadline; see zygote.py).
    ``remote``: the URL (or URLs) of ``mathforge sandbox serve`` servers: the same API over HTTP is returned
    (:class:`~mathforge.sandbox.remote.RemoteSandbox`; ``timeout``, ``repl`` and ``token``/``token_file``
    apply, the pool's other options are the server's). ``light_workers``: extra lean zygotes (only ``light_preload``, no numpy/sympy) that serve stateless
    cells whose imports they cover (default: as many as ``workers``; 0 disables; none with a prelude).
    A session starts there too and moves to a full zygote (by replaying its cells) at the first cell
    that imports something the lean tier lacks; once most recent sessions have moved, new ones start on
    the full zygotes right away (``session(tier=...)`` overrides). ``huge_pages``: put each zygote's warmed heap on 2 MiB pages
    (cheaper fork and exit; see ``hugepages``). The remaining flags switch single protections off (for debugging; the doctor reports them).
    """

    def __new__(cls, *args, remote=None, **kwargs):
        if remote is not None:  # the same API over HTTP (mathforge.sandbox.remote)
            from mathforge.sandbox.remote import RemoteSandbox

            timeout = args[1] if len(args) > 1 else kwargs.pop("timeout", 5.0)
            return RemoteSandbox(remote, timeout, **kwargs)
        return super().__new__(cls)

    def __init__(
        self,
        workers: int | None = None,
        timeout: float = 5.0,
        memory: int = 2 << 30,
        *,
        remote: str | Iterable[str] | None = None,
        repl: bool = False,
        max_output: int = 256 << 10,
        max_concurrent: int = 2,
        file_size: int = 16 << 20,
        nofile: int = 64,
        nproc: int = 32,
        session_cpu: float | None = None,
        preload: Iterable[str] = DEFAULT_PRELOAD,
        prelude: str | None = None,
        network_namespace: bool = True,
        pid_namespace: bool = True,
        landlock: bool = True,
        seccomp: bool = True,
        drop_uid: bool = True,
        temp_root: str | None = None,
        read_paths: Iterable[str] = (),
        light_workers: int | None = None,
        light_preload: Iterable[str] = LIGHT_PRELOAD,
        huge_pages: bool = True,
        disk: int = 64 << 20,
        files: int = 4096,
        max_sessions: int = 256,
        tmpfs: bool = True,
        freeze_sessions: bool = True,
        mount_namespace: bool = True,
    ):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.timeout = float(timeout)
        self.memory = int(memory)
        self.repl = repl
        self.session_cpu = float(session_cpu if session_cpu is not None else max(60.0, 20 * self.timeout))
        self._cfg = {
            "memory": self.memory, "max_output": int(max_output), "max_concurrent": int(max_concurrent),
            "file_size": int(file_size), "nofile": int(nofile), "nproc": int(nproc),
            "preload": list(preload), "prelude": prelude, "network_namespace": network_namespace,
            "pid_namespace": pid_namespace, "landlock": landlock, "seccomp": seccomp, "drop_uid": drop_uid,
            "temp_root": temp_root or tempfile.gettempdir(), "read_paths": [str(p) for p in read_paths], "huge_pages": huge_pages,
            "disk": int(disk), "files": int(files), "tmpfs": tmpfs, "freeze_sessions": freeze_sessions,
            "mount_namespace": mount_namespace,
        }  # fmt: skip
        self.max_sessions = int(max_sessions)
        self._live_sessions = 0
        self._sessions_gone: deque[bool] = deque()  # one entry per session collected unclosed
        sweep_stale(self._cfg["temp_root"])  # dirs of zygotes that were kill -9ed
        light = (self.workers if prelude is None else 0) if light_workers is None else max(0, light_workers)
        self._light_preload = list(light_preload)
        self._heavy = list(range(self.workers))
        self._light = list(range(self.workers, self.workers + light))
        self._lock = threading.Lock()
        self._session_moves: deque[bool] = deque(maxlen=32)  # recent auto sessions: moved to full tier?
        self._closed = False
        self._zygotes: list[_ZygoteHandle] = []
        try:
            for i in self._heavy + self._light:
                self._zygotes.append(self._spawn(i))
            self._infos = [self._await_ready(z) for z in self._zygotes]
        except BaseException:
            Sandbox._close_all(self._zygotes)  # no orphan zygotes when one fails to start
            raise
        self._light_modules = (
            frozenset(self._infos[self._light[0]]["modules"]) if self._light else frozenset()
        )
        self._finalizer = weakref.finalize(self, Sandbox._close_all, self._zygotes)
        atexit.register(self._finalizer)

    # ------------------------------------------------------------------------------ zygotes
    def _spawn(self, index: int) -> _ZygoteHandle:
        cfg = dict(self._cfg, index=index)
        if index >= self.workers:
            cfg["preload"] = self._light_preload
        return _ZygoteHandle(cfg)

    @staticmethod
    def _await_ready(z: _ZygoteHandle) -> dict:
        info = z.ready.result(timeout=300)
        if "fatal" in info:
            raise RuntimeError(f"sandbox zygote failed to start: {info['fatal']}")
        return info

    def _zygote(self, index: int) -> _ZygoteHandle:
        """The live zygote at ``index``, restarting it if it died."""
        with self._lock:
            if self._closed:
                raise RuntimeError("Sandbox is closed")
            z = self._zygotes[index]
            if z.dead:
                z.close(wait=1.0)
                z = self._zygotes[index] = self._spawn(index)
                self._infos[index] = self._await_ready(z)
            return z

    def _least_loaded(self, key: str, tier: list[int] | None = None) -> _ZygoteHandle:
        for z in self._zygotes:
            if z.dropped:  # sessions collected unclosed: count them out before comparing loads
                with z.lock:
                    z._close_dropped()
        index = min(tier or self._heavy, key=lambda i: getattr(self._zygotes[i], key))
        return self._zygote(index)

    def _tier_for(self, code: str) -> list[int]:
        """The lean tier when every module the cell imports is already warm there."""
        if not self._light:
            return self._heavy
        roots = imported_modules(code)
        return self._light if roots is not None and roots <= self._light_modules else self._heavy

    @property
    def info(self) -> list[dict]:
        """What each zygote reported at start: pid, loaded modules, namespaces."""
        return list(self._infos)

    # ------------------------------------------------------------------------------ stateless
    def _opts(self, timeout: float | None, repl: bool | None, **extra) -> dict:
        return {"timeout": float(timeout if timeout is not None else self.timeout),
                "repl": self.repl if repl is None else bool(repl), **extra}  # fmt: skip

    def submit(
        self, code: str, *, timeout: float | None = None, repl: bool | None = None, report: bool = False
    ) -> Future:
        """Start one stateless execution; the future resolves to an :class:`ExecResult`."""
        z = self._least_loaded("outstanding", self._tier_for(code))
        with z.lock:
            z.outstanding += 1
        raw = _request(z, {"op": "run", "code": code, "opts": self._opts(timeout, repl, report=report)})
        out: Future = Future()

        def done(f: Future) -> None:
            with z.lock:
                z.outstanding -= 1
            msg = f.result()
            result = _to_result(msg)
            if report and "report" in msg.get("result", {}):
                result.report = msg["result"]["report"]  # type: ignore[attr-defined]
            out.set_result(result)

        raw.add_done_callback(done)
        return out

    def run(self, code: str, *, timeout: float | None = None, repl: bool | None = None) -> ExecResult:
        """Execute ``code`` in a fresh isolated child (no state from earlier calls)."""
        return self.submit(code, timeout=timeout, repl=repl).result()

    async def arun(self, code: str, *, timeout: float | None = None, repl: bool | None = None) -> ExecResult:
        return await asyncio.shield(asyncio.wrap_future(self.submit(code, timeout=timeout, repl=repl)))

    def run_many(
        self, codes: Iterable[str], *, timeout: float | None = None, repl: bool | None = None
    ) -> list[ExecResult]:
        """Execute many independent cells in parallel over the zygotes; results in input order."""
        futures = [self.submit(code, timeout=timeout, repl=repl) for code in codes]
        return [f.result() for f in futures]

    # ------------------------------------------------------------------------------ sessions
    def session(
        self,
        *,
        timeout: float | None = None,
        repl: bool | None = None,
        cpu: float | None = None,
        tier: str = "auto",
    ) -> Session:
        """A stateful interpreter: later cells see earlier variables and imports.

        ``cpu``: CPU seconds the session's child may use over its whole life (default ``session_cpu``).
        ``tier``: ``"auto"`` (lean zygote first, full one from the first cell that needs it, see the class
        docstring), ``"full"`` or ``"lean"`` (stay lean: a heavy import is then done in the child, slowly).
        """
        if tier not in ("auto", "full", "lean"):
            raise ValueError(f"tier must be auto, full or lean, got {tier!r}")
        if not self._light or (tier == "auto" and self._sessions_moving()):
            tier = "full"
        with self._lock:
            while self._sessions_gone:
                self._sessions_gone.popleft()
                self._live_sessions -= 1
            if self._live_sessions >= self.max_sessions:
                raise TooManySessions(
                    f"this Sandbox already has {self._live_sessions} live sessions (max_sessions="
                    f"{self.max_sessions}); close() sessions that are done, or raise max_sessions"
                )
            self._live_sessions += 1
        return Session(
            self,
            self.timeout if timeout is None else timeout,
            self.repl if repl is None else repl,
            self.session_cpu if cpu is None else float(cpu),
            tier,
        )

    def _sessions_moving(self) -> bool:
        """Did most recent auto sessions move to the full tier? (Then starting lean only wastes a fork.)"""
        with self._lock:
            recent = list(self._session_moves)
        return len(recent) >= 8 and sum(recent) > len(recent) / 2

    def _record_session(self, moved: bool) -> None:
        with self._lock:
            self._session_moves.append(moved)

    def _session_closed(self, collected: bool = False) -> None:
        if collected:  # from __del__: no lock (see _ZygoteHandle.drop)
            self._sessions_gone.append(True)
        else:
            with self._lock:
                self._live_sessions -= 1

    def _open_session(
        self, sid: str, cpu: float, lean: bool = False
    ) -> Generator[Future, dict, _ZygoteHandle | None]:
        z = self._least_loaded(
            "sessions", self._light if lean else self._heavy
        )  # session(): lean needs _light
        msg = yield _request(z, {"op": "open", "sid": sid, "session_cpu": cpu})
        if not msg.get("ok"):
            return None
        with z.lock:
            z.sessions += 1
        return z

    def stats(self) -> list[dict]:
        """Per zygote: live children (and ``live``, one record each), sessions, queued runs, leftover temp dirs,
        open fds (after reaping)."""
        replies = [self._zygote(i).request({"op": "ping"}).result() for i in range(len(self._zygotes))]
        return [{k: v for k, v in r.items() if k not in ("id", "pong")} for r in replies]

    # ------------------------------------------------------------------------------ lifecycle
    @staticmethod
    def _close_all(zygotes: list[_ZygoteHandle]) -> None:
        for z in zygotes:
            z.close()

    async def aclose(self) -> None:
        """Release what belongs to the running event loop: nothing for the local pool."""

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._finalizer()
        atexit.unregister(self._finalizer)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _drive(steps: Generator[Future, dict, ExecResult]) -> ExecResult:
    """Run a request generator synchronously: send each yielded future's result back in."""
    try:
        fut = next(steps)
        while True:
            fut = steps.send(fut.result())
    except StopIteration as stop:
        return stop.value


async def _adrive(steps: Generator[Future, dict, ExecResult]) -> ExecResult:
    try:
        fut = next(steps)
        while True:
            # shield: a cancelled caller must not cancel the request (its reply still has to land)
            fut = steps.send(await asyncio.shield(asyncio.wrap_future(fut)))
    except StopIteration as stop:
        return stop.value


class Session:
    """A persistent child process that keeps globals across cells.

    Recovery: when the child dies (timeout, memory limit, crash, ``os._exit``), the cell that killed
    it reports that status, and the *next* cell runs in a new child that is first rebuilt by
    replaying, silently and in order, every earlier cell whose status was ``ok``/``truncated``
    (each with the normal time limit; a replayed cell that now fails is dropped from the history).
    Side effects of replayed cells (files in the temp dir, random state) are therefore re-done, and
    state created by failed cells is lost. ``restarts`` counts rebuilds. A cell found to have forged
    its reply (its real reply came late, or it still ran when the next cell's deadline passed) is
    dropped from the history, and the next cell, which never got to run, is run again in the rebuilt
    child. Between cells the child is stopped: threads a cell left running advance only during cells.

    Tiers: an ``auto`` session lives on a lean zygote (a cheaper fork) until a cell imports a module the
    lean tier has not loaded (or imports dynamically); that cell first moves the session to a full
    zygote by the same replay, quietly (``moved`` is then True; it is not a restart).

    ``run`` is thread-safe (cells of one session run one after another) and ``arun`` is its asyncio
    form; different sessions run concurrently.
    """

    def __init__(self, sandbox: Sandbox, timeout: float, repl: bool, cpu: float, tier: str = "full"):
        self.sandbox = sandbox
        self.tier = tier
        self.moved = False  # an auto session that moved to the full tier
        self.cpu = cpu
        self.timeout = float(timeout)
        self.repl = repl
        self.history: list[str] = []
        self.restarts = 0
        self._lock = threading.Lock()
        self._zygote: _ZygoteHandle | None = None
        self._sid: str | None = None
        self._closed = False
        self._opened_once = False
        self._moving = False  # the next open moves the session to the full tier (not a restart)
        self._last_kept = False  # the last cell run went into the history

    def _steps(
        self, code: str, timeout: float | None, repl: bool | None
    ) -> Generator[Future, dict, ExecResult]:
        if self._closed:
            raise RuntimeError("Session is closed")
        opts = self.sandbox._opts(
            self.timeout if timeout is None else timeout, self.repl if repl is None else repl
        )
        if self.tier == "auto" and not self.moved and self.sandbox._tier_for(code) is not self.sandbox._light:
            self.moved = self._moving = True  # this cell needs the full tier: rebuild the session there
            self.sandbox._record_session(True)
            self._forget()
        for _attempt in range(3):
            if self._zygote is None or self._zygote.dead:
                yield from self._reopen()
                if self._zygote is None:
                    return _dead_result("Killed: could not start a session child")
            msg = yield _request(self._zygote, {"op": "cell", "sid": self._sid, "code": code, "opts": opts})
            if msg.get("forged"):  # the previous cell lied about finishing; this one did not get to run
                self._drop_forger()
                if not msg.get("alive", False):
                    self._forget()
                    continue
            if msg.get("oversized"):
                return _to_result(msg)  # never sent: the session is as it was
            if msg.get("gone") or msg.get("unsent"):
                self._forget()  # died between cells (or its zygote did): the cell never ran, so retry
                continue
            if msg.get("dead"):  # the zygote died while the cell ran: running it again could redo effects
                self._forget()
                return _dead_result("Killed: sandbox worker died while the cell ran")
            result = _to_result(msg)
            if not msg.get("alive", False):
                self._forget()
            self._last_kept = result.ok
            if result.ok:
                self.history.append(code)
            return result
        return _dead_result("Killed: session child keeps dying")

    def _drop_forger(self) -> None:
        """The previous cell forged its reply (its real one came later): do not replay it."""
        if self._last_kept and self.history:
            self.history.pop()
        self._last_kept = False

    def _reopen(self) -> Generator[Future, dict, None]:
        """Open a new child and replay the successful history into it (quietly)."""
        for _attempt in range(3):
            sid = uuid.uuid4().hex
            z = yield from self.sandbox._open_session(sid, self.cpu, self.lean)
            self._zygote, self._sid = z, sid
            if z is None:
                return
            if self._opened_once and not self._moving:
                self.restarts += 1
            self._moving = False
            self._opened_once = True
            kept: list[str] = []
            for i, cell in enumerate(self.history):
                opts = self.sandbox._opts(self.timeout, False, quiet=True)
                msg = yield _request(z, {"op": "cell", "sid": sid, "code": cell, "opts": opts})
                # the cell before forged its reply (this death is its real one arriving): drop that one
                forged = bool(msg.get("forged")) and i > 0 and bool(kept) and kept[-1] == self.history[i - 1]
                if forged:
                    kept.pop()
                dead = msg.get("gone") or msg.get("dead") or not msg.get("alive", False)
                if not dead and _to_result(msg).ok:
                    kept.append(cell)
                if dead:  # this cell now kills the child: drop it (or the forger), rebuild from the others
                    self.history = kept + self.history[i + (0 if forged else 1) :]
                    self._forget()
                    break
            else:
                self.history = kept
                self._last_kept = bool(kept)
                return

    def _forget(self) -> None:
        if self._zygote is not None:
            if self._sid is not None:
                self._zygote.send({"op": "close", "sid": self._sid})
            with self._zygote.lock:
                self._zygote.sessions -= 1
        self._zygote, self._sid = None, None

    @property
    def lean(self) -> bool:
        """Does (or will) the child live on a lean zygote?"""
        return self.tier == "lean" or (self.tier == "auto" and not self.moved)

    def open(self) -> Session:
        """Fork the child now (it is otherwise forked by the first ``run``), e.g. while a model generates."""
        with self._lock:
            if self._closed:
                raise RuntimeError("Session is closed")
            if self._zygote is None or self._zygote.dead:
                _drive(self._reopen())
        return self

    async def aopen(self) -> Session:
        return await asyncio.to_thread(self.open)

    def run(self, code: str, *, timeout: float | None = None, repl: bool | None = None) -> ExecResult:
        with self._lock:
            return _drive(self._steps(code, timeout, repl))

    async def arun(self, code: str, *, timeout: float | None = None, repl: bool | None = None) -> ExecResult:
        if not self._lock.acquire(blocking=False):
            await asyncio.to_thread(self._lock.acquire)  # contended only if one session is shared
        try:
            return await _adrive(self._steps(code, timeout, repl))
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._forget()
                self._closed = True
                self.sandbox._session_closed()
                if self.tier == "auto" and not self.moved and self._opened_once:
                    self.sandbox._record_session(False)

    def __del__(self) -> None:
        # a forgotten session must not keep its child alive until the sandbox closes, nor keep counting
        # in its zygote's load (new sessions would all avoid that zygote) or against max_sessions
        if getattr(self, "_closed", True):
            return
        self._closed = True
        z, sid = getattr(self, "_zygote", None), getattr(self, "_sid", None)
        if z is not None and sid is not None:
            z.drop(sid)
        self.sandbox._session_closed(collected=True)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
