"""One backend over several OpenAI-compatible servers of the same model (vLLM, SGLang, ``transformers serve``).

Routing (the policy of :mod:`mathforge.balance`, as verl's and SGLang's routers do it):

* a sample's first request goes to the server with the fewest requests in flight; its later turns (the
  tool-integrated loop's rounds, marked with :func:`mathforge.llm.base.affinity`) stay on that server, so
  the server's prefix cache already holds the transcript; a call with ``n > 1`` sends its n requests to one
  server (they share the prompt). Requests outside any ``affinity`` are placed one by one.
* a request that fails for the server's or the network's sake (refused or dropped connection, 5xx, 429,
  timeout, malformed reply) is sent again at once to another server, and the sample moves there for good.
  No completion is ever returned twice, and a request is retried at most ``max_retries`` times in all
  before it fails its own sample (:class:`RequestFailed`, which the stages record and a re-run retries).
  A 400/422 (the request's own fault) fails at once and does not count against the server.
* a server that fails ``eject_after`` requests in a row, or its health check (``GET /health``, else
  ``GET /v1/models``, every ``health_interval`` seconds: a refused connection at once, a slow or failing
  answer twice in a row), is taken out for a cooldown that doubles on each ejection in a row; after it,
  the server is on probation: one failure takes it out again, one success puts it back in full service.

A single URL needs no router: ``load_backend`` then builds a plain :class:`OpenAIBackend`, which is also how a
router in front of a fleet (sgl-router, a vLLM data-parallel front end) is used: as one endpoint.

``stats()`` holds the run's totals and ``endpoints``: per server URL, requests (calls routed there),
http_requests, tokens, errors, mean latency, most in flight at once (``max_in_flight``: routed there and
not answered, waiting for one of its ``concurrency`` slots included; ``http_max_in_flight``: sent),
ejections, state.
"""

from __future__ import annotations

import asyncio
import random
import time
import weakref

from mathforge.balance import Balancer, Endpoint
from mathforge.llm.base import Backend, Completion, GenParams, current_affinity
from mathforge.llm.openai_backend import OpenAIBackend, RequestFailed


class RouterBackend(Backend):
    concurrent = True

    def __init__(
        self,
        base_urls: list[str],
        model: str,
        api: str = "completions",
        concurrency: int = 16,
        max_retries: int = 5,
        timeout: float = 600.0,
        *,
        health_interval: float = 5.0,
        health_timeout: float = 10.0,
        eject_after: int = 3,
        cooldown: float = 5.0,
        max_cooldown: float = 60.0,
        backoff: float = 0.5,
        max_backoff: float = 20.0,
        **server_options,
    ):
        """``concurrency``: requests in flight per server. ``server_options`` go to each server's
        :class:`OpenAIBackend` (``api_key``, ``extra_body``, ``server``)."""
        urls = list(dict.fromkeys(base_urls))  # the same server twice would only skew the balance
        self.balancer = Balancer(urls, eject_after=eject_after, cooldown=cooldown, max_cooldown=max_cooldown)
        # no retries inside a server's client: a retry is better spent on another server (a dead one
        # would otherwise hold each of its samples through a whole backoff ladder)
        self.servers = [
            OpenAIBackend(url, model, api=api, concurrency=concurrency, max_retries=0, timeout=timeout,
                          **server_options)
            for url in urls
        ]  # fmt: skip
        self.model = self.name = model
        self.api = self.servers[0].api
        self.max_batch = concurrency * len(urls)
        self.max_retries = max(0, int(max_retries))
        self.health_interval = float(health_interval)
        self.health_timeout = float(health_timeout)
        self.backoff, self.max_backoff = backoff, max_backoff
        self.requests = self.retries = self.failures = self.moved = 0
        self.in_flight = self.max_in_flight = 0
        self._health_tasks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @property
    def endpoints(self) -> list[Endpoint]:
        return self.balancer.endpoints

    # ------------------------------------------------------------------------------------- requests
    def generate(self, prompts: list, params: GenParams, on_finish=None) -> list[list[Completion]]:
        return self._generate_on_a_fresh_loop(prompts, params)

    async def agenerate(self, prompt, params: GenParams) -> list[Completion]:
        self._start_health_checks()
        unit = current_affinity()
        prefer = self._own(unit.endpoint) if unit is not None else None
        failed_at: Endpoint | None = None
        self.requests += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            for attempt in range(self.max_retries + 1):
                if failed_at is not None:
                    wait = self.balancer.all_down_for()
                    if wait > 0:  # every server is out: wait for the first to come back
                        await asyncio.sleep(min(wait, self.max_backoff))
                ep = self.balancer.pick(prefer, avoid=failed_at)
                if unit is not None:
                    if unit.endpoint is not None and unit.endpoint is not ep:
                        self.moved += 1
                    unit.endpoint = ep
                if ep is failed_at:  # nowhere else to go: back off before asking the same server again
                    await asyncio.sleep(self._delay(attempt))
                start = time.monotonic()
                try:
                    out = await self.servers[ep.index].agenerate(prompt, params)
                except RequestFailed as exc:
                    self.balancer.failed(ep, str(exc), server_fault=exc.retryable)
                    if not exc.retryable or attempt >= self.max_retries:
                        self.failures += 1
                        raise RequestFailed(f"{exc} [server {ep.url}; {attempt + 1} server(s) tried]",
                                            status=exc.status, retryable=exc.retryable) from exc  # fmt: skip
                    self.retries += 1
                    prefer, failed_at = None, ep
                    continue
                except BaseException:
                    self.balancer.released(ep)
                    raise
                self.balancer.succeeded(ep, time.monotonic() - start, sum(c.tokens for c in out))
                return out
            raise AssertionError("unreachable: the last attempt returns or raises")
        finally:
            self.in_flight -= 1

    def _own(self, endpoint) -> Endpoint | None:
        """``endpoint`` if it is one of ours (an affinity may have been set by another router)."""
        if isinstance(endpoint, Endpoint) and endpoint.index < len(self.endpoints):
            return endpoint if self.endpoints[endpoint.index] is endpoint else None
        return None

    def _delay(self, attempt: int) -> float:
        return min(self.max_backoff, self.backoff * 2**attempt) * (0.5 + random.random() / 2)

    # --------------------------------------------------------------------------------- health checks
    def _start_health_checks(self) -> None:
        if self.health_interval <= 0:
            return
        loop = asyncio.get_running_loop()
        task = self._health_tasks.get(loop)
        if task is None or task.done():
            self._health_tasks[loop] = loop.create_task(self._health_loop())

    async def _health_loop(self) -> None:
        import httpx

        async with httpx.AsyncClient(timeout=self.health_timeout) as http:
            # one loop per server: a busy server that answers its check late (up to health_timeout) must not
            # delay noticing that another one has stopped listening
            await asyncio.gather(*(self._watch(ep, http) for ep in self.endpoints))

    async def _watch(self, ep: Endpoint, http) -> None:
        while True:
            await asyncio.sleep(self.health_interval)
            await self.check(ep, http)

    async def check(self, ep: Endpoint, http=None) -> bool:
        """Ask one server whether it is healthy, and record the verdict (True: healthy)."""
        import httpx

        own = http is None
        http = http or httpx.AsyncClient(timeout=self.health_timeout)
        root = self.servers[ep.index].base_url.removesuffix("/v1")
        try:
            r = await http.get(root + "/health")
            if r.status_code == 404:  # a server without /health (some proxies): the model list will do
                r = await http.get(root + "/v1/models")
            ok, error, refused = r.status_code == 200, f"HTTP {r.status_code}", False
        except httpx.HTTPError as exc:
            ok, error, refused = False, f"{type(exc).__name__}: {exc}", isinstance(exc, httpx.ConnectError)
        except (
            OSError,
            ValueError,
        ) as exc:  # outside httpx's own errors: a failed check, never a dead watcher
            ok, error, refused = False, f"{type(exc).__name__}: {exc}", False
        finally:
            if own:
                await http.aclose()
        self.balancer.health(ep, ok, error, refused=refused)
        return ok

    # ------------------------------------------------------------------------------------- lifecycle
    async def aclose(self) -> None:
        task = self._health_tasks.pop(asyncio.get_running_loop(), None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for server in self.servers:
            await server.aclose()

    def stats(self) -> dict:
        endpoints = self.balancer.stats()
        for server, ep in zip(self.servers, self.endpoints, strict=True):
            endpoints[ep.url]["http_requests"] = server.requests
            endpoints[ep.url]["http_max_in_flight"] = server.max_in_flight  # sent, not waiting for a slot
        return {"requests": self.requests, "retries": self.retries, "failed_requests": self.failures,
                "samples_moved": self.moved, "max_in_flight": self.max_in_flight,
                "endpoints": endpoints}  # fmt: skip
