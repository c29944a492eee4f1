"""The zygote: a long-lived process that has imported and warmed the math stack and forks children.

Started by :class:`mathforge.sandbox.Sandbox` as ``python -m mathforge.sandbox.zygote FD`` with a
scrubbed environment; FD is its end of a socketpair to the parent. It is single-threaded (forking
a threaded process is unsafe) and multiplexes everything with ``selectors``:

* ``run``: fork a child that already holds the code (no extra round trip), which executes it once,
  reports and is killed. At most ``max_concurrent`` such children at a time; the rest wait in a FIFO.
* ``open`` / ``cell`` / ``close``: a session child that stays alive and executes cells sent to it.

The zygote alone enforces the wall-clock limit (SIGKILL to the child's process group), because the
child's own code cannot be trusted to stop. It classifies deaths from the wait status: killed by us
at the deadline or by RLIMIT_CPU -> ``timeout``, died near the memory limit -> ``memory``, any other
death -> ``killed``. When the parent goes away (end of stream), or on SIGTERM/SIGINT/SIGHUP, it kills
every child, removes its temp dir and exits.

Nothing a child sends is trusted: every field of a result is checked by type and size
(``protocol.check_result``), a session's reply must carry the number of the cell it answers, and a
message that nobody asked for is a protocol violation that kills the child. The cell's own code can
still forge the reply to the cell it is running (it owns its process); so between cells a session
child is stopped (SIGSTOP to its group) and continued only with the next cell, under that cell's
deadline: a forged early reply buys no time outside a deadline, and the real reply that follows it is
an extra message, which kills the child.
"""

from __future__ import annotations

import fcntl
import gc
import os
import resource
import selectors
import signal
import socket
import struct
import sys
import tempfile
import termios
import time
from collections import deque

from mathforge.sandbox.child import run_child
from mathforge.sandbox.hugepages import HugeHeap, huge_resident_mib
from mathforge.sandbox.isolation import (
    PR_SET_PDEATHSIG,
    ChildPlan,
    close_fds_except,
    default_read_paths,
    enter_namespaces,
    prctl,
    private_mounts,
    scrub_environment,
)
from mathforge.sandbox.protocol import BufferedConn, ProtocolError, check_result, recv_msg, send_msg
from mathforge.sandbox.tempdirs import TreeRemover, base_prefix, owner_tag

_GRACE = 0.5  # seconds a child that closed its channel gets to exit before we kill it
_RECOLLAPSE_EVERY = 32  # forks between re-collapsing the heap into huge pages (see hugepages.py)
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_WARM_SYMPY = """
x, y = symbols("x y")
solve(x**2 - 5*x + 6, x); solve([x + y - 10, x - y - 2], [x, y]); simplify((x**2 - 1) / (x - 1))
factor(x**3 - 1); expand((x + 1)**5); Rational(3, 4) + Rational(1, 6); nsimplify(0.5); sqrt(8)
N(pi, 20); integrate(x**2, (x, 0, 3)); diff(sin(x), x); limit(sin(x) / x, x, 0); Eq(x, 1)
str(solve(x**2 - 2, x)); str(Rational(5, 7)); isprime(97); binomial(10, 3); factorial(7); gcd(12, 18)
summation(x, (x, 1, 10)); Matrix([[1, 2], [3, 4]]).det(); solveset(x**2 - 4, x, S.Reals)
"""


def warm(preload: list[str]) -> list[str]:
    """Import ``preload`` and exercise sympy/numpy so children do not pay for lazy imports."""
    loaded = []
    for name in preload:
        try:
            __import__(name)
            loaded.append(name)
        except Exception:  # optional module (e.g. scipy) not installed
            continue
    if "sympy" in loaded:
        import sympy

        exec(_WARM_SYMPY, vars(sympy).copy())
    if "numpy" in loaded:
        import numpy as np

        np.linalg.solve(np.eye(2), np.ones(2)).sum()
        str(np.arange(5) * 2.5)
    return loaded


class _Child:
    __slots__ = (
        "pid",
        "conn",
        "kind",
        "tmp",
        "sid",
        "req",
        "started",
        "deadline",
        "grace",
        "killed_for",
        "eof",
        "cpu_soft",
        "seq",
        "stopped",
        "report",
        "forged",
    )

    def __init__(self, pid: int, conn: BufferedConn, kind: str, tmp: str, cpu_soft: int):
        self.pid, self.conn, self.kind, self.tmp, self.cpu_soft = pid, conn, kind, tmp, cpu_soft
        self.sid: str | None = None
        self.req: int | None = None  # id of the request this child owes an answer to
        self.started = 0.0
        self.deadline: float | None = None
        self.grace: float | None = None
        self.killed_for: str | None = None
        self.eof = False
        self.seq = 0  # number of the last cell sent to a session child
        self.stopped = False  # SIGSTOPped between cells
        self.report = False  # the current request asked for the isolation report
        self.forged = False  # the previous cell's reply was forged (its real one came after it)


class Zygote:
    def __init__(self, sock: socket.socket, cfg: dict, ns_report: dict):
        self.stopping = False
        for sig in _STOP_SIGNALS:  # first: a signal during the warm-up must not leave the temp dir
            signal.signal(sig, self._on_stop_signal)
        self.cfg = cfg
        self.index = int(cfg.get("index", 0))
        self.ns_report = ns_report
        self.max_output = int(cfg.get("max_output", 1 << 18))
        self.freeze = bool(cfg.get("freeze_sessions", True))
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # one socket per live child
        self.loaded = warm(list(cfg.get("preload", [])))
        self.template: dict = {"__name__": "__main__", "__builtins__": __builtins__}
        if cfg.get("prelude"):
            exec(cfg["prelude"], self.template)
        read_paths = default_read_paths() + list(cfg.get("read_paths") or [])
        private = bool(ns_report.get("mount_namespace", (False,))[0])
        self.plan = ChildPlan(cfg, self.index, read_paths, private_mounts=private)
        scrub_environment()
        root = os.path.abspath(cfg.get("temp_root") or "/tmp")
        owner = str(cfg.get("owner") or f"0.{os.getpid()}")
        self.base = tempfile.mkdtemp(prefix=base_prefix(self.index, owner), dir=root)
        os.chmod(self.base, 0o711)  # children (other uids) may enter their own subdir, not list others
        self.removing: list[TreeRemover] = []  # temp dirs of reaped children still being deleted
        self.seq = 0
        self.parent = BufferedConn(sock)
        self.sel = selectors.DefaultSelector()
        self.sel.register(sock, selectors.EVENT_READ, self.parent)
        self.children: dict[int, _Child] = {}
        self.sessions: dict[str, _Child] = {}
        self.queue: deque[dict] = deque()
        self.running = 0
        self.max_concurrent = max(1, int(cfg.get("max_concurrent", 2)))
        self.wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.sel.register(self.wake_r, selectors.EVENT_READ, "sigchld")
        gc.collect()
        gc.freeze()  # children never walk (and so never copy) the pages of the warmed heap
        self.huge = HugeHeap() if cfg.get("huge_pages", True) else None
        self.forks = 0
        modules = sorted({name.split(".")[0] for name in sys.modules})  # importable at no cost
        self.parent.send(
            {
                "ready": True,
                "pid": os.getpid(),
                "loaded": self.loaded,
                "modules": modules,
                "namespaces": ns_report,
                "temp_dir": self.base,
                "huge_pages": self.huge.detail if self.huge else "disabled by configuration",
            }
        )

    # ------------------------------------------------------------------------------------ loop
    def _on_stop_signal(self, *_) -> None:
        self.stopping = True  # acted on by the loop (the wakeup fd makes select return)

    def serve(self) -> None:
        while True:
            if self.stopping:
                self._shutdown()
            for key, events in self.sel.select(self._next_wakeup()):
                data = key.data
                if data == "sigchld":
                    try:
                        while os.read(self.wake_r, 4096):
                            pass
                    except BlockingIOError:
                        pass
                elif data is self.parent:
                    if events & selectors.EVENT_READ:
                        self._on_parent()
                    if events & selectors.EVENT_WRITE:
                        self.parent.flush()
                elif events & selectors.EVENT_READ:
                    self._on_child(data)
                elif events & selectors.EVENT_WRITE:
                    data.conn.flush()
            self._reap()
            self._check_deadlines()
            self._start_queued()
            self._update_interest()
            self._remove_some()

    def _next_wakeup(self) -> float | None:
        if self.stopping or self.removing:
            return 0.0
        times = [t for c in self.children.values() for t in (c.deadline, c.grace) if t is not None]
        return max(0.0, min(times) - time.monotonic()) if times else None

    def _remove_some(self) -> None:
        """A slice (about 2 ms) of deleting reaped children's temp dirs: never a stall of the loop."""
        if self.removing and self.removing[0].step():
            self.removing.pop(0)

    def _update_interest(self) -> None:
        for conn, data in [(self.parent, self.parent)] + [
            (c.conn, c) for c in self.children.values() if not c.eof
        ]:
            want = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.wbuf else 0)
            try:
                if self.sel.get_key(conn.sock).events != want:
                    self.sel.modify(conn.sock, want, data)
            except (KeyError, ValueError):
                pass

    # ---------------------------------------------------------------------------------- parent
    def _on_parent(self) -> None:
        try:
            alive = self.parent.feed()
            messages = self.parent.messages()
        except ProtocolError:
            alive, messages = False, []
        for msg in messages:
            self._handle(msg)
        if not alive:
            self._shutdown()

    def _handle(self, msg: dict) -> None:
        op, rid = msg.get("op"), msg.get("id")
        if op == "run":
            self.queue.append(msg)
        elif op == "open":
            try:
                rec = self._fork("session", msg, float(msg.get("session_cpu", 60)))
            except OSError as exc:  # out of processes or descriptors: refuse, keep serving
                self.parent.send({"id": rid, "ok": False, "error": f"cannot fork: {exc}"})
                return
            rec.sid = str(msg["sid"])
            self.sessions[rec.sid] = rec
            self.parent.send({"id": rid, "ok": True})
        elif op == "cell":
            rec = self.sessions.get(str(msg.get("sid")))
            if rec is None or rec.eof or rec.killed_for:
                self.parent.send({"id": rid, "gone": True, "forged": bool(rec and rec.forged)})
            elif rec.req is not None:
                self._reply(
                    rid, {"status": "error", "error": "RuntimeError: session is busy"}, 0.0, alive=True
                )
            else:
                opts = msg.get("opts", {})
                rec.seq += 1
                self._continue(rec)
                rec.conn.send({"code": msg.get("code", ""), "opts": opts, "seq": rec.seq})
                rec.req, rec.started = rid, time.monotonic()
                rec.deadline = rec.started + float(opts.get("timeout", 5.0))
                rec.report = bool(opts.get("report"))
        elif op == "close":
            rec = self.sessions.pop(str(msg.get("sid")), None)
            if rec is not None:
                self._kill(rec, "close")
        elif op == "ping":
            self._reap()
            stats = {
                "children": len(self.children),
                "sessions": len(self.sessions),
                "queued": len(self.queue),
            }
            stats["temp_dirs"] = len(os.listdir(self.base))
            stats["stopped"] = sum(c.stopped for c in self.children.values())
            stats["fds"] = len(os.listdir("/proc/self/fd"))
            stats["huge_mib"] = huge_resident_mib()
            now = time.monotonic()
            stats["live"] = [  # for diagnosing a child that outlives its request
                {"pid": c.pid, "kind": c.kind, "killed_for": c.killed_for, "eof": c.eof,
                 "owes_reply": c.req is not None, "age": round(now - c.started, 3)}
                for c in self.children.values()
            ]  # fmt: skip
            self.parent.send({"id": rid, "pong": True, **stats})

    def _reply(self, rid, result: dict, duration: float, alive: bool, forged: bool = False) -> None:
        result = dict(result, duration=round(duration, 6))
        msg = {"id": rid, "result": result, "alive": alive}
        if forged:
            msg["forged"] = True  # the session should forget its previous cell: it lied about finishing
        self.parent.send(msg)

    # ---------------------------------------------------------------------------------- children
    def _fork(self, kind: str, request: dict, cpu_seconds: float) -> _Child:
        parent_end, child_end = socket.socketpair()
        self.seq += 1
        tmp = os.path.join(self.base, str(self.seq))
        cpu_soft = int(cpu_seconds) + 1
        try:
            pid = os.fork()
        except OSError:
            parent_end.close()
            child_end.close()
            raise
        if pid == 0:  # child: never returns
            try:
                self._become_child(child_end, kind, request, tmp, cpu_soft)
            finally:
                os._exit(70)
        child_end.close()
        self.forks += 1
        if self.huge is not None and self.forks % _RECOLLAPSE_EVERY == 0:
            self.huge.refresh()
        limit = 8 * int(self.cfg.get("max_output", 1 << 18)) + (1 << 20)  # JSON-escaped stdout + stderr
        rec = _Child(pid, BufferedConn(parent_end, limit=limit), kind, tmp, cpu_soft)
        rec.started = time.monotonic()
        self.children[pid] = rec
        self.sel.register(parent_end, selectors.EVENT_READ, rec)
        return rec

    def _become_child(self, chan: socket.socket, kind: str, request: dict, tmp: str, cpu_soft: int) -> None:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a cell's SIGINT is KeyboardInterrupt
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        os.setsid()
        fd = chan.detach()
        # drop the parent's channel, other children's channels, the epoll fd; keep what the plan needs
        close_fds_except([fd, *self.plan.keep_fds()])
        sock = socket.socket(fileno=fd)
        sock.setblocking(True)
        pid_ns = bool(self.ns_report.get("pid_namespace", (False,))[0])
        report = self.plan.apply(tmp, cpu_soft, cpu_soft + 1, pid_ns)
        report.update(self.ns_report)
        run_child(sock, kind, request, report, self.template, self.cfg)

    def _start_queued(self) -> None:
        while self.queue and self.running < self.max_concurrent:
            msg = self.queue.popleft()
            timeout = float(msg.get("opts", {}).get("timeout", 5.0))
            try:
                rec = self._fork("run", msg, timeout)
            except OSError as exc:
                error = {
                    "stdout": "",
                    "stderr": "",
                    "status": "killed",
                    "error": f"Killed: cannot fork: {exc}",
                }
                self._reply(msg.get("id"), error, 0.0, alive=False)
                continue
            rec.req, rec.deadline = msg.get("id"), rec.started + timeout
            rec.report = bool(msg.get("opts", {}).get("report"))
            self.running += 1

    def _on_child(self, rec: _Child) -> None:
        try:
            alive = rec.conn.feed()
            for msg in rec.conn.messages():
                if rec.killed_for is not None:
                    break  # being killed (e.g. a stateless child that answered): the rest is noise
                # a message between cells, or one answering the cell before: that cell's early reply
                # was forged by its own code, and this is the real one arriving late
                rec.forged = rec.req is None or (rec.kind == "session" and msg.get("seq") == rec.seq - 1)
                if rec.req is None:
                    raise ProtocolError("a message while no cell runs")
                seq = rec.seq if rec.kind == "session" else None
                self._finish(rec, check_result(msg, self.max_output, seq=seq, report=rec.report))
        except ProtocolError as exc:
            self._answer_death(rec, "killed", f"Killed: the program broke the sandbox protocol ({exc})")
            self._kill(rec, "protocol")
            return
        if not alive:
            self._mark_eof(rec)

    def _finish(self, rec: _Child, fields: dict) -> None:
        session_alive = rec.kind == "session" and not rec.eof
        if session_alive and self.freeze:
            self._stop(rec)  # before the reply: the child must not run on while no cell is out
        self._reply(rec.req, fields, time.monotonic() - rec.started, alive=session_alive)
        rec.req, rec.deadline = None, None
        if rec.kind == "run":
            self.running -= 1
            self._kill(rec, "done")

    def _stop(self, rec: _Child) -> None:
        try:
            os.killpg(rec.pid, signal.SIGSTOP)
            rec.stopped = True
        except (ProcessLookupError, PermissionError):
            pass

    def _continue(self, rec: _Child) -> None:
        if rec.stopped:
            rec.stopped = False
            try:
                os.killpg(rec.pid, signal.SIGCONT)
            except (ProcessLookupError, PermissionError):
                pass

    def _answer_death(self, rec: _Child, status: str, error: str) -> None:
        if rec.req is None:
            return
        self._reply(rec.req, {"stdout": "", "stderr": "", "error": error, "status": status},
                    time.monotonic() - rec.started, alive=False, forged=rec.forged)  # fmt: skip
        rec.req, rec.deadline = None, None
        if rec.kind == "run":
            self.running -= 1

    def _mark_eof(self, rec: _Child) -> None:
        rec.eof = True
        try:
            self.sel.unregister(rec.conn.sock)
        except (KeyError, ValueError):
            pass
        rec.conn.close()
        if rec.sid is not None and self.sessions.get(rec.sid) is rec:
            del self.sessions[rec.sid]
        if rec.req is not None and rec.killed_for is None:
            rec.grace = time.monotonic() + _GRACE  # wait for the exit status to say why it died

    def _kill(self, rec: _Child, reason: str) -> None:
        if rec.killed_for is None:
            rec.killed_for = reason
        try:
            if os.getpgid(rec.pid) == rec.pid:
                os.killpg(rec.pid, signal.SIGKILL)
            else:
                os.kill(rec.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def _check_deadlines(self) -> None:
        now = time.monotonic()
        for rec in list(self.children.values()):
            if rec.deadline is not None and now >= rec.deadline and rec.req is not None:
                error = "TimeoutError: execution exceeded the time limit"
                if rec.kind == "session" and _unread(rec.conn):
                    # it never even read this cell: the cell before is still running, so its reply was forged
                    rec.forged = True
                    error += " (the previous cell was still running: its reply had been forged)"
                self._kill(rec, "timeout")
                if rec.sid is not None and self.sessions.get(rec.sid) is rec:
                    del self.sessions[rec.sid]
                self._answer_death(rec, "timeout", error)
            if rec.grace is not None and now >= rec.grace:
                rec.grace = None
                self._kill(rec, "grace")

    def _reap(self) -> None:
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            rec = self.children.pop(pid, None)
            if rec is None:
                continue  # an orphan re-parented to us (we are PID 1 of the namespace)
            if rec.req is not None and not rec.eof:
                self._on_child(rec)  # it may have answered just before exiting: read that first
            if rec.req is not None:
                self._answer_death(rec, *self._classify(rec, status, usage))
            if not rec.eof:
                self._mark_eof(rec)
            if self.plan.seccomp is None and self.plan.drop_uid:
                self._sweep_uid(self.plan.child_uid(pid))  # it could fork: kill what it left behind
            try:
                os.rmdir(rec.tmp)  # empty when the child had its own tmpfs: the kernel drops that
            except FileNotFoundError:
                pass
            except OSError:
                self.removing.append(TreeRemover(rec.tmp))  # deleted a slice per loop turn

    def _sweep_uid(self, uid: int) -> None:
        """SIGKILL every process running as ``uid`` (a dead child's unique uid), e.g. escaped forks.

        /proc shows host PIDs; the ``NSpid`` line gives each process's PID as seen from our namespace.
        """
        depth = len(_nspids("self")) - 1
        for _round in range(5):
            found = False
            for name in os.listdir("/proc"):
                if not name.isdigit():
                    continue
                try:
                    with open(f"/proc/{name}/status") as fh:
                        text = fh.read()
                except OSError:
                    continue
                fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
                if int(fields.get("Uid", "-1").split()[0]) != uid:
                    continue
                ids = fields.get("NSpid", name).split()
                if len(ids) > depth:
                    found = True
                    try:
                        os.kill(int(ids[depth]), signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
            if not found:
                return

    def _classify(self, rec: _Child, status: int, usage) -> tuple[str, str]:
        if rec.killed_for == "timeout":
            return "timeout", "TimeoutError: execution exceeded the time limit"
        cpu = usage.ru_utime + usage.ru_stime
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= rec.cpu_soft):
                return "timeout", "TimeoutError: CPU time limit exceeded"
            if usage.ru_maxrss * 1024 >= int(self.cfg.get("memory", 2 << 30)) // 2:
                return "memory", "MemoryError: killed at the memory limit"
            return "killed", f"Killed: process died with signal {signal.Signals(sig).name}"
        return "killed", f"Killed: process exited with code {os.WEXITSTATUS(status)}"

    def _shutdown(self) -> None:
        for sig in _STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        for rec in list(self.children.values()):
            self._kill(rec, "shutdown")
        for pid in list(self.children):
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        remover = TreeRemover(self.base)
        while not remover.step(1 << 30, seconds=3600):
            pass
        os._exit(0)


def _unread(conn: BufferedConn) -> bool:
    """Has the peer left some of what we sent unread? (SIOCOUTQ: bytes it has not consumed yet.)"""
    if conn.wbuf:
        return True
    try:
        return struct.unpack("i", fcntl.ioctl(conn.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0] > 0
    except OSError:
        return False


def _wait_for_zygote(sock: socket.socket, pid: int) -> None:
    """The launcher outside the PID namespace: pass a stop signal on (the zygote cleans up), then exit
    with the zygote. SIGKILLing it would leave its temp dir behind (a ``timeout`` or Ctrl-C signals the
    whole process group, this launcher included)."""
    sock.close()
    for sig in _STOP_SIGNALS:
        signal.signal(sig, lambda *_: os.kill(pid, signal.SIGTERM))
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    os._exit(os.waitstatus_to_exitcode(status) & 0x7F)


def _nspids(pid: str) -> list[str]:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("NSpid:"):
                    return line.split()[1:]
    except OSError:
        pass
    return [pid]


def main(argv: list[str]) -> None:
    sock = socket.socket(fileno=int(argv[1]))
    cfg = recv_msg(sock)
    if cfg is None:
        return
    cfg["owner"] = owner_tag()  # the process the Sandbox started, in its PID namespace: names the temp dir
    ns_report = enter_namespaces(cfg.get("network_namespace", True), cfg.get("pid_namespace", True))
    pid_ns = bool(ns_report.get("pid_namespace", (False, ""))[0])
    if pid_ns:
        pid = os.fork()  # the first child is PID 1 of the new namespace: it becomes the zygote
        if pid > 0:
            _wait_for_zygote(sock, pid)
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if cfg.get("mount_namespace", True):
        ns_report.update(private_mounts(fresh_proc=pid_ns))
    else:
        ns_report["mount_namespace"] = (False, "disabled by configuration")
    try:
        Zygote(sock, cfg, ns_report).serve()
    except Exception as exc:
        try:
            send_msg(sock, {"fatal": f"{type(exc).__name__}: {exc}"})
        except OSError:
            pass
        raise


if __name__ == "__main__":
    main(sys.argv)
