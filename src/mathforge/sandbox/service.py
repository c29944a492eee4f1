"""The sandbox as an HTTP service (FastAPI on uvicorn) over one :class:`~mathforge.sandbox.Sandbox` pool.

(Imported only to serve: FastAPI loads here, never on the local pool's path.)

Routes (JSON in and out; every route but ``/health`` needs ``Authorization: Bearer TOKEN`` when the server
has a token):

* ``POST /v1/run`` ``{"code", "timeout"?, "repl"?}``: one stateless cell -> an :class:`ExecResult` dict
  (``stdout``, ``error``, ``status``, ``duration``, ``stderr``, ``replaced``).
* ``POST /v1/sessions`` ``{"timeout"?, "repl"?, "tier"?}`` -> ``{"session": ID}``: a stateful interpreter,
  one child process of the pool (forked now); ``POST /v1/sessions/ID/run`` runs a cell in it (-> the
  result plus ``restarts``); ``DELETE /v1/sessions/ID`` ends it.
* ``POST /run_code`` (SandboxFusion's shape) and ``POST /execute`` (NeMo-Skills' shape, sessions by
  ``session_id``): see :mod:`mathforge.sandbox.compat`.
* ``GET /health`` (no token needed: load balancers probe it) and ``GET /stats``.

Executions share one concurrency budget: past ``max_concurrency`` cells at once, requests wait in line
(never refused for load). Sessions idle for ``idle_timeout`` seconds are closed; ``max_sessions`` live
ones at most (then 429). Bad requests get a 4xx with ``{"error": "..."}`` that says what was wrong:
malformed JSON (400), a missing or wrong token (401/403), a body or program over the size limit (413),
an unknown session (404), a field of the wrong type or a timeout over the server's limit (422).
"""

from __future__ import annotations

import asyncio
import hmac
import time
import uuid
from collections import Counter, deque
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from mathforge.sandbox.result import ExecResult


@dataclass
class ServiceLimits:
    """What one server accepts. ``max_concurrency``: cells executing at once (the rest wait in line)."""

    max_concurrency: int = 8
    max_code_bytes: int = 1 << 20
    max_timeout: float = 60.0
    idle_timeout: float | None = 600.0
    max_sessions: int = 256

    @property
    def max_body_bytes(self) -> int:
        return self.max_code_bytes + (64 << 10)  # the code plus room for the other fields and JSON escapes


class ServiceError(Exception):
    """A request the service refuses, with the HTTP status to answer."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Entry:
    session: object
    created: float
    last_used: float
    busy: int = 0


@dataclass
class ServiceState:
    """The pool, the live sessions and the counters of one server."""

    sandbox: object
    limits: ServiceLimits
    token: str | None = None
    sessions: dict[str, _Entry] = field(default_factory=dict)
    expired: deque = field(default_factory=lambda: deque(maxlen=10_000))  # ids closed for idleness
    started: float = field(default_factory=time.monotonic)
    counters: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    latencies: deque = field(default_factory=lambda: deque(maxlen=10_000))
    in_flight: int = 0
    queued: int = 0
    max_queued: int = 0
    budget: asyncio.Semaphore | None = None

    # ------------------------------------------------------------------------------------ executing
    async def execute(
        self, code: str, *, timeout: float | None, repl: bool | None, session=None
    ) -> ExecResult:
        """Run one cell within the concurrency budget (waiting in line for a slot, never refusing)."""
        self.check_code(code)
        timeout = self.check_timeout(timeout)
        if self.budget is None:
            self.budget = asyncio.Semaphore(self.limits.max_concurrency)
        self.queued += 1
        self.max_queued = max(self.max_queued, self.queued)
        try:
            await self.budget.acquire()
        finally:
            self.queued -= 1
        self.in_flight += 1
        start = time.perf_counter()
        try:
            if session is not None:
                result = await session.arun(code, timeout=timeout, repl=repl)
            else:
                # submit in a thread: it may restart a dead zygote, which must not stall the event loop
                future = await asyncio.to_thread(self.sandbox.submit, code, timeout=timeout, repl=repl)
                result = await asyncio.wrap_future(future)
        except RuntimeError as exc:  # the pool is closed or broken
            raise ServiceError(503, f"the sandbox pool cannot run code: {exc}") from exc
        finally:
            self.in_flight -= 1
            self.budget.release()
        self.latencies.append(time.perf_counter() - start)
        self.counters["executions"] += 1
        self.statuses[result.status] += 1
        return result

    def check_code(self, code: str) -> None:
        size = len(code.encode("utf-8", "surrogatepass"))
        if size > self.limits.max_code_bytes:
            raise ServiceError(413, f"the program is {size} bytes; this server takes at most "
                                    f"{self.limits.max_code_bytes} bytes")  # fmt: skip

    def check_timeout(self, timeout: float | None) -> float | None:
        if timeout is not None and timeout > self.limits.max_timeout:
            raise ServiceError(422, f"timeout {timeout:g}s is over this server's limit of "
                                    f"{self.limits.max_timeout:g}s")  # fmt: skip
        return timeout

    # ------------------------------------------------------------------------------------- sessions
    async def open_session(self, sid: str | None = None, *, timeout=None, repl=None, tier="auto") -> str:
        from mathforge.sandbox.pool import TooManySessions

        self.check_timeout(timeout)
        if sid is not None and sid in self.sessions:  # a named session opened by a concurrent request
            return sid
        if len(self.sessions) >= self.limits.max_sessions:
            raise ServiceError(429, f"this server already has {len(self.sessions)} live sessions (its "
                                    f"max_sessions); close sessions that are done")  # fmt: skip
        sid = sid or uuid.uuid4().hex
        try:
            session = self.sandbox.session(timeout=timeout, repl=repl, tier=tier)
        except TooManySessions as exc:
            raise ServiceError(429, str(exc)) from exc
        now = time.monotonic()
        self.sessions[sid] = entry = _Entry(session, now, now)
        entry.busy += 1  # not idle while its child forks
        try:
            await session.aopen()
        except Exception as exc:
            self.sessions.pop(sid, None)
            session.close()
            raise ServiceError(503, f"could not start a session child: {exc}") from exc
        finally:
            entry.busy -= 1
            entry.last_used = time.monotonic()
        self.counters["sessions_opened"] += 1
        return sid

    def entry(self, sid: str) -> _Entry:
        entry = self.sessions.get(sid)
        if entry is None:
            why = (f"it was closed after {self.limits.idle_timeout:g}s idle" if sid in self.expired
                   else "it was closed, or never opened on this server")  # fmt: skip
            raise ServiceError(404, f"unknown session {sid[:80]!r}: {why}")
        return entry

    async def run_in_session(self, sid: str, code: str, *, timeout=None, repl=None) -> ExecResult:
        entry = self.entry(sid)
        entry.busy += 1
        try:
            return await self.execute(code, timeout=timeout, repl=repl, session=entry.session)
        finally:
            entry.busy -= 1
            entry.last_used = time.monotonic()

    def close_session(self, sid: str) -> None:
        entry = self.sessions.pop(sid, None)
        if entry is None:
            self.entry(sid)  # raises the 404 that says why
        entry.session.close()
        self.counters["sessions_closed"] += 1

    def close_idle(self) -> int:
        """Close sessions idle past ``idle_timeout``; returns how many."""
        limit = self.limits.idle_timeout
        if not limit:
            return 0
        now = time.monotonic()
        idle = [sid for sid, e in self.sessions.items() if not e.busy and now - e.last_used > limit]
        for sid in idle:
            self.sessions.pop(sid).session.close()
            self.expired.append(sid)
        self.counters["sessions_expired"] += len(idle)
        return len(idle)

    def close_all(self) -> None:
        for entry in self.sessions.values():
            entry.session.close()
        self.sessions.clear()

    # ----------------------------------------------------------------------------------------- stats
    def stats(self) -> dict:
        lat = sorted(self.latencies)

        def q(p: float):
            return round(lat[min(len(lat) - 1, int(p * len(lat)))], 5) if lat else None

        return {
            "uptime_s": round(time.monotonic() - self.started, 1),
            "requests": self.counters["requests"],
            "rejected": self.counters["rejected"],
            "executions": self.counters["executions"],
            "by_status": dict(self.statuses.most_common()),
            "in_flight": self.in_flight,
            "queued": self.queued,
            "max_queued": self.max_queued,
            "max_concurrency": self.limits.max_concurrency,
            "sessions": len(self.sessions),
            "max_sessions": self.limits.max_sessions,
            "sessions_opened": self.counters["sessions_opened"],
            "sessions_closed": self.counters["sessions_closed"],
            "sessions_expired": self.counters["sessions_expired"],
            "latency_s": {"p50": q(0.5), "p99": q(0.99), "window": len(lat)},
        }


# ------------------------------------------------------------------------------------ request bodies
class RunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    timeout: float | None = Field(None, gt=0, description="wall-clock seconds (default: the server's)")
    repl: bool | None = Field(None, description="show a final bare expression's value when nothing printed")


class OpenBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timeout: float | None = Field(None, gt=0)
    repl: bool | None = None
    tier: Literal["auto", "full", "lean"] = "auto"


def result_json(result: ExecResult, **extra) -> dict:
    return {**result.to_dict(), **extra}


# ---------------------------------------------------------------------------------------------- app
class _BodyLimit:
    """Pure ASGI middleware: counts requests, reads every POST body as JSON (curl's default form type
    included), and refuses a body over the limit before it is buffered whole (by its Content-Length, or as
    the chunks of one without it arrive)."""

    def __init__(self, app, state: ServiceState):
        self.app = app
        self.state = state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = self.state
        state.counters["requests"] += 1
        limit = state.limits.max_body_bytes
        length = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            state.counters["rejected"] += 1
            message = f"the request body is {int(length)} bytes; this server takes at most {limit}"
            return await JSONResponse({"error": message}, status_code=413)(scope, receive, send)
        if scope.get("method") == "POST":  # every body is JSON, whatever Content-Type the client sent
            headers = [(k, v) for k, v in scope.get("headers") or () if k != b"content-type"]
            scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise StarletteHTTPException(
                        413, f"the request body is over this server's limit of {limit} bytes"
                    )
            return message

        await self.app(scope, limited, send)


def create_app(sandbox, *, token: str | None = None, limits: ServiceLimits | None = None):
    """The ASGI app serving ``sandbox`` (the caller owns the sandbox and closes it after the server)."""
    from mathforge.sandbox.compat import add_compat_routes

    state = ServiceState(sandbox, limits or ServiceLimits(), token or None)

    @asynccontextmanager
    async def lifespan(app):
        reaper = asyncio.create_task(_reap(state))
        try:
            yield
        finally:
            reaper.cancel()
            await asyncio.gather(reaper, return_exceptions=True)
            state.close_all()

    app = FastAPI(title="mathforge sandbox", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.service = state

    def refuse(status: int, message: str, headers: dict | None = None):
        state.counters["rejected"] += 1
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    app.add_middleware(_BodyLimit, state=state)

    @app.exception_handler(ServiceError)
    async def service_error(request, exc: ServiceError):
        return refuse(exc.status, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, exc: StarletteHTTPException):  # unknown route, wrong method, body too big
        return refuse(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc: RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {"type": "", "msg": "invalid request", "loc": ()}
        if first["type"] == "json_invalid":
            return refuse(400, f"malformed JSON: {first.get('ctx', {}).get('error', first['msg'])}")
        where = ".".join(str(x) for x in first["loc"] if x != "body") or "body"
        if where == "body" and first["type"] in ("model_attributes_type", "dict_type"):
            return refuse(422, "the body must be a JSON object")
        return refuse(
            422, f"{where}: {first['msg']}" + (f" (+{len(errors) - 1} more)" if len(errors) > 1 else "")
        )

    async def authorized(request: Request):
        if state.token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if not header:
            raise ServiceError(401, "missing bearer token: send 'Authorization: Bearer TOKEN'")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), state.token.encode()
        ):
            raise ServiceError(403, "wrong bearer token")

    guarded = [Depends(authorized)]

    @app.get("/health")
    async def health():
        return {"status": "ok", "sessions": len(state.sessions), "in_flight": state.in_flight}

    @app.get("/stats", dependencies=guarded)
    async def stats():
        out = state.stats()
        try:
            out["zygotes"] = await asyncio.wait_for(asyncio.to_thread(sandbox.stats), 10)
        except Exception as exc:  # noqa: BLE001 - stats must answer even when a zygote does not
            out["zygotes"] = f"unavailable: {type(exc).__name__}: {exc}"
        return out

    @app.post("/v1/run", dependencies=guarded)
    async def run(body: RunBody):
        return result_json(await state.execute(body.code, timeout=body.timeout, repl=body.repl))

    @app.post("/v1/sessions", dependencies=guarded)
    async def open_session(body: OpenBody | None = None):
        body = body or OpenBody()
        return {"session": await state.open_session(timeout=body.timeout, repl=body.repl, tier=body.tier)}

    @app.post("/v1/sessions/{sid}/run", dependencies=guarded)
    async def run_in_session(sid: str, body: RunBody):
        result = await state.run_in_session(sid, body.code, timeout=body.timeout, repl=body.repl)
        return result_json(result, restarts=state.entry(sid).session.restarts if sid in state.sessions else 0)

    @app.delete("/v1/sessions/{sid}", dependencies=guarded)
    async def close_session(sid: str):
        state.close_session(sid)
        return {"closed": sid}

    add_compat_routes(app, state, guarded)
    return app


async def _reap(state: ServiceState) -> None:
    """Close idle sessions now and then (a quarter of the idle timeout, at most every 5 s)."""
    if not state.limits.idle_timeout:
        return
    period = min(5.0, state.limits.idle_timeout / 4)
    while True:
        await asyncio.sleep(period)
        state.close_idle()
