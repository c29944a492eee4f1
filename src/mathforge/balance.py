"""Spreading requests over several servers of one kind: model servers (``mathforge.llm.router``) and
sandbox services (``mathforge.sandbox.remote``) share this one policy.

* A new unit of work (a sample's first request, a stateless cell, a new session) goes to the server with
  the fewest requests in flight (ties: the one that was given the least work so far).
* Later requests of the same unit stay where it started (the caller keeps the :class:`Endpoint`), so a
  model server's prefix cache holds the sample's transcript and a sandbox session keeps its state.
* A server that fails ``eject_after`` requests in a row, or its health check (at once when the connection
  is refused, else twice in a row: a busy server may answer late), is taken out for ``cooldown`` seconds
  (doubling on each ejection in a row, up to ``max_cooldown``). After that it gets traffic again on
  probation: one failure takes it out again, one success puts it back in full service.

Counters per server (requests, errors, tokens, latency) are what the stats of a run report.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from mathforge.io import DataError


@dataclass
class Endpoint:
    """One server and what has been seen of it. Mutated only under the :class:`Balancer`'s lock."""

    url: str
    index: int
    in_flight: int = 0
    max_in_flight: int = 0
    assigned: int = 0  # units of work started here (ties in the least-in-flight choice)
    requests: int = 0
    errors: int = 0
    tokens: int = 0
    latency: float = 0.0  # seconds, summed over successful requests
    ok: int = 0
    consecutive_errors: int = 0
    health_failures: int = 0  # health checks failed in a row
    ejections: int = 0
    down_until: float = 0.0  # monotonic time; 0 = in service
    cooldown: float = 0.0  # the current ejection's length
    last_error: str = ""
    extra: dict = field(default_factory=dict)  # per-kind counters (sessions, ...)

    def up(self, now: float | None = None) -> bool:
        return self.down_until <= (time.monotonic() if now is None else now)

    def state(self) -> str:
        """``up``; ``down`` (taken out, cooling down); ``probation`` (back from an ejection, no success since)."""
        if not self.up():
            return "down"
        return "probation" if self.cooldown > 0 else "up"

    def stats(self) -> dict:
        out = {"requests": self.requests, "errors": self.errors, "tokens": self.tokens,
               "mean_latency_s": round(self.latency / self.ok, 4) if self.ok else None,
               "max_in_flight": self.max_in_flight, "ejections": self.ejections,
               "state": self.state()}  # fmt: skip
        if self.last_error:
            out["last_error"] = self.last_error
        return {**out, **self.extra}


class NoEndpoint(RuntimeError):
    """Every server is out of service (the message names when the first comes back)."""


class Balancer:
    """Thread-safe choice of a server and bookkeeping of what happened there."""

    def __init__(
        self, urls: list[str], *, eject_after: int = 3, cooldown: float = 5.0, max_cooldown: float = 60.0
    ):
        if not urls:
            raise ValueError("no server URLs given")
        self.endpoints = [Endpoint(url, i) for i, url in enumerate(urls)]
        self.eject_after = max(1, int(eject_after))
        self.base_cooldown = float(cooldown)
        self.max_cooldown = float(max_cooldown)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.endpoints)

    def pick(self, prefer: Endpoint | None = None, avoid: Endpoint | None = None) -> Endpoint:
        """The server for the next request: ``prefer`` (where the unit lives) while it is in service, else
        the one with the fewest in flight, skipping ``avoid`` (where the unit just failed) if another is up.
        With every server out, the one that comes back first (on probation). Counts the request in flight."""
        with self._lock:
            now = time.monotonic()
            if prefer is not None and prefer.up(now):
                chosen = prefer
            else:
                up = [e for e in self.endpoints if e.up(now)]
                if avoid is not None and len(up) > 1:
                    up = [e for e in up if e is not avoid]
                pool = up or sorted(self.endpoints, key=lambda e: e.down_until)[:1]
                chosen = min(pool, key=lambda e: (e.in_flight, e.assigned, e.index))
                chosen.assigned += 1
            chosen.in_flight += 1
            chosen.requests += 1
            chosen.max_in_flight = max(chosen.max_in_flight, chosen.in_flight)
            return chosen

    def acquire(self, e: Endpoint) -> Endpoint:
        """Count a request to ``e`` itself, in or out of service (a session's cells go where it lives)."""
        with self._lock:
            e.in_flight += 1
            e.requests += 1
            e.max_in_flight = max(e.max_in_flight, e.in_flight)
            return e

    def all_down_for(self) -> float:
        """Seconds until some server is back in service (0 when one is up now)."""
        with self._lock:
            now = time.monotonic()
            return max(0.0, min(e.down_until for e in self.endpoints) - now)

    def succeeded(self, e: Endpoint, seconds: float, tokens: int = 0) -> None:
        with self._lock:
            e.in_flight -= 1
            e.ok += 1
            e.latency += seconds
            e.tokens += tokens
            e.consecutive_errors = 0
            e.cooldown = 0.0

    def failed(self, e: Endpoint, error: str, *, server_fault: bool = True) -> bool:
        """Record a failed request; ``server_fault=False`` for a bad request (the server is fine). Returns
        True when this failure took the server out of service."""
        with self._lock:
            e.in_flight -= 1
            e.errors += 1
            e.last_error = error[:300]
            if not server_fault:
                return False
            e.consecutive_errors += 1
            on_probation = e.cooldown > 0  # back from an ejection, no success since
            if (e.consecutive_errors >= self.eject_after or on_probation) and e.up():
                self._eject(e)
                return True
            return False

    def released(self, e: Endpoint) -> None:
        """The request ended without a verdict on the server (cancelled)."""
        with self._lock:
            e.in_flight -= 1

    def health(self, e: Endpoint, ok: bool, error: str = "", *, refused: bool = False) -> None:
        """A health check's verdict. A failure takes the server out when the connection was ``refused``
        (nothing listens: it is down), or on the second failure in a row (a loaded server may just be slow
        to answer); a server on probation goes out at the first."""
        with self._lock:
            if ok:
                e.health_failures = 0
                return
            e.health_failures += 1
            e.last_error = f"health check: {error}"[:300]
            if e.up() and (refused or e.health_failures >= 2 or e.cooldown > 0):
                self._eject(e)

    def _eject(self, e: Endpoint) -> None:
        e.cooldown = min(self.max_cooldown, e.cooldown * 2 if e.cooldown else self.base_cooldown)
        e.down_until = time.monotonic() + e.cooldown
        e.ejections += 1
        e.consecutive_errors = e.health_failures = 0

    def stats(self) -> dict:
        with self._lock:
            return {e.url: e.stats() for e in self.endpoints}


def read_url_list(path: str | Path, field: str) -> list[str]:
    """Server URLs from a file: one per line; blank lines and ``#`` comments skipped. A line that is not
    an http(s) URL is a :class:`DataError` naming the file, line and setting."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError("the file of server URLs does not exist", p, field=field) from None
    except UnicodeDecodeError:
        raise DataError("the file of server URLs is not UTF-8 text", p, field=field) from None
    urls = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        check_url(line, field, path=p, line=lineno)
        urls.append(line)
    if not urls:
        raise DataError("the file of server URLs lists none", p, field=field)
    return urls


def check_url(url: str, field: str, *, path=None, line: int | None = None) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise DataError(f"not an http(s) URL: {url!r}", path, line, field)
    return url
