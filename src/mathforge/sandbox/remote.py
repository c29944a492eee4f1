"""The :class:`~mathforge.sandbox.Sandbox` API over HTTP, against one or many ``mathforge sandbox serve``.

``RemoteSandbox(urls)`` (or ``Sandbox(remote=urls)``) has the methods callers use on the local pool:
``run``, ``arun``, ``submit``, ``run_many``, ``session()`` -> a session with ``open``, ``aopen``, ``run``,
``arun``, ``close`` (and ``history``, ``restarts``), ``stats``, ``close``; so the tool-integrated loop and
synthesis run unchanged against servers.

Placement follows :mod:`mathforge.balance`, as for model servers: a stateless cell or a new session goes to
the server with the fewest requests in flight; a session's cells go to the server that holds it. A
stateless cell that fails for the server's sake (refused connection, 5xx, no reply) is run on another;
when every try fails, :class:`SandboxUnavailable` is raised (the loop then fails that sample only, and a
re-run retries it), rather than an invented result.

Sessions recover as local ones do: when the server that holds one loses it (restarted, the session closed
for idleness) or cannot be reached, the next cell opens a new session, on another server if there is one,
replays the successful cells quietly and runs (``restarts`` counts rebuilds). If a server goes away while
a cell runs, that cell reports ``killed`` (running it again could redo its effects), as when a local
session's child dies. Requests the server refuses (401/403 token, 422 fields) raise
:class:`RemoteSandboxError`; a program over the server's size limit gives an ``error`` result, as locally.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import weakref
from collections.abc import Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mathforge.balance import Balancer, Endpoint, check_url
from mathforge.sandbox.result import ExecResult

TOKEN_ENV = "MATHFORGE_SANDBOX_TOKEN"


class RemoteSandboxError(RuntimeError):
    """The server refused the request itself (a missing or wrong token, a bad field): fix the client."""


class SandboxUnavailable(RuntimeError):
    """No sandbox server could run the cell (each try failed for the server's or the network's sake)."""


@dataclass
class _Call:
    method: str
    ep: Endpoint
    path: str
    body: dict | None = None


@dataclass
class _Reply:
    status: int | None  # None: no HTTP reply at all
    data: dict | None
    error: str = ""
    sent: bool = True  # False: the connection failed before the request went out (it surely did not run)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == 200 and isinstance(self.data, dict)

    def server_fault(self) -> bool:
        return self.status is None or self.status >= 500 or self.status == 429

    def describe(self) -> str:
        return f"HTTP {self.status}: {self.error}" if self.status is not None else self.error


def _killed(error: str) -> ExecResult:
    return ExecResult(stdout="", error=error, status="killed")


class RemoteSandbox:
    """Cells and sessions on sandbox servers. ``timeout``/``repl``: the defaults a cell runs with (the
    server's memory and other limits apply). ``token`` (else ``token_file``, else ``$MATHFORGE_SANDBOX_TOKEN``)
    is sent as a bearer token. ``max_retries``: further servers a stateless cell or a session's opening is
    tried on. ``threads``: sync requests at once (``submit``, ``run_many``); ``connections``: async requests
    at once per server (more wait in the client). Options of the local pool (``workers``, ``memory``, ...)
    are set on the server and ignored here."""

    def __init__(
        self,
        urls: str | Iterable[str],
        timeout: float = 5.0,
        *,
        repl: bool = False,
        token: str | None = None,
        token_file: str | os.PathLike | None = None,
        request_timeout: float = 300.0,
        max_retries: int = 3,
        eject_after: int = 3,
        cooldown: float = 5.0,
        threads: int = 32,
        connections: int = 8,
        **server_side,
    ):
        import httpx

        urls = [urls] if isinstance(urls, str) else list(urls)
        self.urls = [check_url(u, "sandbox_url").rstrip("/") for u in urls]
        self.balancer = Balancer(list(dict.fromkeys(self.urls)), eject_after=eject_after, cooldown=cooldown)
        self.timeout = float(timeout)
        self.repl = repl
        self.max_retries = max(0, int(max_retries))
        self.workers = len(self.balancer)
        token = token or (_read_token(token_file) if token_file else None)
        token = token or os.environ.get(TOKEN_ENV, "").strip() or None
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._limits = httpx.Limits(max_connections=512, max_keepalive_connections=128)
        self._request_timeout = request_timeout
        self._connections = max(1, int(connections))  # async requests at once, per server
        self._client = httpx.Client(headers=self._headers, timeout=request_timeout, limits=self._limits)
        self._aclients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="mathforge-remote")
        self._closed = False

    # ------------------------------------------------------------------------------------ transport
    def _send(self, call: _Call) -> _Reply:
        import httpx

        start = time.perf_counter()
        try:
            r = self._client.request(call.method, call.ep.url + call.path, json=call.body)
        except httpx.HTTPError as exc:
            return _transport_failure(exc, start)
        return _reply_of(r.status_code, r.content, start)

    async def _asend(self, call: _Call) -> _Reply:
        import httpx

        client, gate = self._aclient()
        start = time.perf_counter()
        try:
            async with gate:
                r = await client.request(call.method, call.ep.url + call.path, json=call.body)
        except httpx.HTTPError as exc:
            return _transport_failure(exc, start)
        return _reply_of(r.status_code, r.content, start)

    def _aclient(self):
        """This event loop's HTTP client, and a gate of ``connections`` requests per server at a time: more
        wait here (a cheap asyncio wait; the server would queue them anyway) rather than in httpx's
        connection pool, whose work per request grows with the requests waiting in it (profiled: at 64
        concurrent requests most of the client's CPU went to httpcore's pool bookkeeping)."""
        import httpx

        loop = asyncio.get_running_loop()
        found = self._aclients.get(loop)
        if found is None:
            width = self._connections * len(self.balancer)
            limits = httpx.Limits(max_connections=width, max_keepalive_connections=width)
            client = httpx.AsyncClient(headers=self._headers, timeout=self._request_timeout, limits=limits)
            found = self._aclients[loop] = (client, asyncio.Semaphore(width))
        return found

    def _drive(self, steps: Generator):
        """Run a request generator synchronously (it yields calls, or seconds to wait)."""
        try:
            item = next(steps)
            while True:
                if isinstance(item, float):
                    time.sleep(item)
                    item = steps.send(None)
                else:
                    item = steps.send(self._send(item))
        except StopIteration as stop:
            return stop.value

    async def _adrive(self, steps: Generator):
        try:
            item = next(steps)
            while True:
                if isinstance(item, float):
                    await asyncio.sleep(item)
                    item = steps.send(None)
                else:
                    item = steps.send(await self._asend(item))
        except StopIteration as stop:
            return stop.value

    def _account(self, ep: Endpoint, reply: _Reply) -> None:
        if reply.server_fault():
            self.balancer.failed(ep, reply.describe())
        else:
            self.balancer.succeeded(ep, reply.seconds)

    def _refused(self, reply: _Reply) -> ExecResult:
        """A 4xx that is the request's fault: a result for an oversized program, else an exception."""
        if reply.status == 413:
            return ExecResult(stdout="", error=f"ValueError: {reply.error}", status="error")
        raise RemoteSandboxError(f"the sandbox server refused the request: {reply.describe()}")

    def _background(self, call: _Call) -> None:
        """Send and forget (closing a session: nothing waits on it)."""
        if not self._closed:
            try:
                self._pool.submit(self._send, call)
            except RuntimeError:  # the pool is shutting down
                pass

    # ------------------------------------------------------------------------------------ stateless
    def _run_steps(self, body: dict) -> Generator:
        failed_at: Endpoint | None = None
        last = ""
        for _attempt in range(self.max_retries + 1):
            if failed_at is not None and (wait := self.balancer.all_down_for()) > 0:
                yield min(wait, 5.0)
            ep = self.balancer.pick(avoid=failed_at)
            reply = yield _Call("POST", ep, "/v1/run", body)
            self._account(ep, reply)
            if reply.ok:
                return ExecResult.from_dict(reply.data)
            if not reply.server_fault():
                return self._refused(reply)
            failed_at, last = ep, f"{ep.url}: {reply.describe()}"
        raise SandboxUnavailable(
            f"no sandbox server ran the cell ({self.max_retries + 1} tries; last: {last})"
        )

    def _body(self, code: str, timeout: float | None, repl: bool | None) -> dict:
        return {"code": code, "timeout": float(self.timeout if timeout is None else timeout),
                "repl": self.repl if repl is None else bool(repl)}  # fmt: skip

    def run(self, code: str, *, timeout: float | None = None, repl: bool | None = None) -> ExecResult:
        """Execute ``code`` in a fresh isolated child on some server (no state from earlier calls)."""
        self._check_open()
        return self._drive(self._run_steps(self._body(code, timeout, repl)))

    async def arun(self, code: str, *, timeout: float | None = None, repl: bool | None = None) -> ExecResult:
        self._check_open()
        return await self._adrive(self._run_steps(self._body(code, timeout, repl)))

    def submit(
        self, code: str, *, timeout: float | None = None, repl: bool | None = None, report: bool = False
    ) -> Future:
        """Start one stateless execution; the future resolves to an :class:`ExecResult`."""
        self._check_open()
        return self._pool.submit(self.run, code, timeout=timeout, repl=repl)

    def run_many(
        self, codes: Iterable[str], *, timeout: float | None = None, repl: bool | None = None
    ) -> list[ExecResult]:
        """Execute many independent cells in parallel over the servers; results in input order."""
        futures = [self.submit(code, timeout=timeout, repl=repl) for code in codes]
        return [f.result() for f in futures]

    # ------------------------------------------------------------------------------------- sessions
    def session(
        self, *, timeout: float | None = None, repl: bool | None = None, cpu: float | None = None,
        tier: str = "auto",
    ) -> RemoteSession:  # fmt: skip
        """A stateful interpreter on one server (``cpu`` is the server's setting and is ignored here)."""
        if tier not in ("auto", "full", "lean"):
            raise ValueError(f"tier must be auto, full or lean, got {tier!r}")
        self._check_open()
        return RemoteSession(self, self.timeout if timeout is None else float(timeout),
                             self.repl if repl is None else bool(repl), tier)  # fmt: skip

    # ------------------------------------------------------------------------------------ lifecycle
    def stats(self) -> list[dict]:
        """Per server: this client's counters for it and the server's own ``/stats``."""
        out = []
        client_side = self.balancer.stats()
        for ep in self.balancer.endpoints:
            reply = self._send(_Call("GET", ep, "/stats"))
            out.append({"url": ep.url, "client": client_side[ep.url],
                        "server": reply.data if reply.ok else f"unavailable: {reply.describe()}"})  # fmt: skip
        return out

    @property
    def info(self) -> list[dict]:
        return [{"url": ep.url} for ep in self.balancer.endpoints]

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("Sandbox is closed")

    async def aclose(self) -> None:
        """Close this event loop's HTTP connections (the tool-integrated loop calls it when it ends)."""
        found = self._aclients.pop(asyncio.get_running_loop(), None)
        if found is not None:
            await found[0].aclose()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._pool.shutdown(wait=True)  # lets the sessions' closing requests go out
        self._client.close()

    def __enter__(self) -> RemoteSandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class RemoteSession:
    """A session on one sandbox server; recovers on another (see the module docstring)."""

    def __init__(self, sandbox: RemoteSandbox, timeout: float, repl: bool, tier: str):
        self.sandbox = sandbox
        self.timeout = timeout
        self.repl = repl
        self.tier = tier
        self.history: list[str] = []
        self.restarts = 0
        self.moved = False
        self._ep: Endpoint | None = None
        self._sid: str | None = None
        self._opened_once = False
        self._closed = False
        self._lock = threading.Lock()

    @property
    def url(self) -> str | None:
        """The server that holds the session now (None before it is opened)."""
        return self._ep.url if self._ep is not None else None

    def _open_steps(self, avoid: Endpoint | None) -> Generator:
        sb = self.sandbox
        body = {"timeout": self.timeout, "repl": self.repl, "tier": self.tier}
        failed_at, last = avoid, ""
        for _attempt in range(sb.max_retries + 1):
            if failed_at is not None and (wait := sb.balancer.all_down_for()) > 0:
                yield min(wait, 5.0)
            ep = sb.balancer.pick(avoid=failed_at)
            reply = yield _Call("POST", ep, "/v1/sessions", body)
            sb._account(ep, reply)
            if reply.ok:
                self._ep, self._sid = ep, str(reply.data["session"])
                return
            if not reply.server_fault():
                sb._refused(reply)  # raises (an open request carries no program to be too large)
            failed_at, last = ep, f"{ep.url}: {reply.describe()}"
        raise SandboxUnavailable(
            f"no sandbox server opened a session ({sb.max_retries + 1} tries; last: {last})"
        )

    def _reopen_steps(self) -> Generator:
        """A new session (elsewhere, if the old server failed), with the successful cells replayed."""
        lost = self._ep
        self._forget()
        yield from self._open_steps(avoid=lost)
        if self._opened_once:
            self.restarts += 1
        self._opened_once = True
        kept: list[str] = []
        for i, cell in enumerate(self.history):
            reply = yield from self._cell_call(cell, self.timeout, False)
            if reply.ok and ExecResult.from_dict(reply.data).ok:
                kept.append(cell)
            elif reply.status is None or reply.status == 404:  # this server failed too: try once more later
                self.history = kept + self.history[i:]
                self._forget()
                return False
        self.history = kept
        return True

    def _cell_call(self, code: str, timeout: float, repl: bool) -> Generator:
        ep = self.sandbox.balancer.acquire(self._ep)
        body = {"code": code, "timeout": timeout, "repl": repl}
        reply = yield _Call("POST", ep, f"/v1/sessions/{self._sid}/run", body)
        self.sandbox._account(ep, reply)
        return reply

    def _steps(self, code: str, timeout: float | None, repl: bool | None) -> Generator:
        if self._closed:
            raise RuntimeError("Session is closed")
        timeout = self.timeout if timeout is None else float(timeout)
        repl = self.repl if repl is None else bool(repl)
        for _attempt in range(3):
            if self._sid is None:
                rebuilt = yield from self._reopen_steps()
                if not rebuilt:
                    continue
            reply = yield from self._cell_call(code, timeout, repl)
            if reply.ok:
                result = ExecResult.from_dict(reply.data)
                if result.ok:
                    self.history.append(code)
                return result
            if reply.status == 404 or (reply.status is None and not reply.sent):
                self._forget()  # the server lost the session or cannot be reached: the cell did not run
                continue
            if reply.server_fault():  # it went away while the cell may have run: do not run it twice
                self._forget()
                return _killed(
                    f"Killed: the sandbox server went away while the cell ran ({reply.describe()})"
                )
            return self.sandbox._refused(reply)
        return _killed("Killed: the session's servers keep failing")

    def _forget(self) -> None:
        if self._sid is not None and self._ep is not None:
            self.sandbox._background(_Call("DELETE", self._ep, f"/v1/sessions/{self._sid}"))
        self._ep, self._sid = None, None

    def open(self) -> RemoteSession:
        """Open the session now (it is otherwise opened by the first ``run``), e.g. while a model generates."""
        with self._lock:
            if self._closed:
                raise RuntimeError("Session is closed")
            for _attempt in range(3):
                if self._sid is not None or self.sandbox._drive(self._reopen_steps()):
                    return self
        raise SandboxUnavailable("could not open and rebuild the session on any sandbox server")

    async def aopen(self) -> RemoteSession:
        await self._acquire()
        try:
            if self._closed:
                raise RuntimeError("Session is closed")
            for _attempt in range(3):
                if self._sid is not None or await self.sandbox._adrive(self._reopen_steps()):
                    return self
        finally:
            self._lock.release()
        raise SandboxUnavailable("could not open and rebuild the session on any sandbox server")

    def run(self, code: str, *, timeout: float | None = None, repl: bool | None = None) -> ExecResult:
        with self._lock:
            return self.sandbox._drive(self._steps(code, timeout, repl))

    async def arun(self, code: str, *, timeout: float | None = None, repl: bool | None = None) -> ExecResult:
        await self._acquire()
        try:
            return await self.sandbox._adrive(self._steps(code, timeout, repl))
        finally:
            self._lock.release()

    async def _acquire(self) -> None:
        if not self._lock.acquire(blocking=False):
            await asyncio.to_thread(self._lock.acquire)  # contended only if one session is shared

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._forget()

    def __enter__(self) -> RemoteSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _read_token(path) -> str:
    from mathforge.io import DataError

    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the sandbox token: {exc}", path, field="sandbox_token_file") from None
    if not token:
        raise DataError("the sandbox token file is empty", path, field="sandbox_token_file")
    return token


def _transport_failure(exc, start: float) -> _Reply:
    import httpx

    sent = not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
    text = " ".join(str(exc).split())[:200] or type(exc).__name__
    return _Reply(None, None, f"{type(exc).__name__}: {text}", sent=sent, seconds=time.perf_counter() - start)


def _reply_of(status: int, content: bytes, start: float) -> _Reply:
    import json

    try:
        data = json.loads(content) if content else None
    except ValueError:
        data = None
    error = ""
    if status != 200:
        error = str(data.get("error") or data.get("detail")) if isinstance(data, dict) else content[:200].decode(
            "utf-8", "replace")  # fmt: skip
    elif not isinstance(data, dict):
        status, error = 502, f"the reply is not a JSON object: {content[:200]!r}"  # a broken proxy, say
    return _Reply(status, data, error, seconds=time.perf_counter() - start)
