"""OpenAI-compatible HTTP generation (vLLM, SGLang, ``transformers serve``) through the ``openai`` SDK.

Each sample is one request (``transformers serve`` ignores ``n``; vLLM/SGLang cache the shared prefix), sent
with bounded concurrency. 429, 5xx, timeouts, dropped connections and malformed replies (truncated JSON, an
HTML error page, no choices, a ``content`` that is not text) are retried with exponential backoff and jitter
(``Retry-After`` honoured); other errors (400, 422: a bad request) fail at once. Either way a request that
finally fails raises :class:`RequestFailed`, which the stages record per sample (the rest of a run goes on,
and a re-run retries only what failed). ``timeout`` is a deadline for the whole request, not per read: a
server that trickles a byte at a time cannot hold a sample longer than that.

Stop strings: ``transformers serve`` keeps the stop string in the text (and may run a few characters past
it: the token that completes it can carry more); vLLM and SGLang drop it and report it as ``stop_reason`` /
``matched_stop``. Both are normalised here so that ``text`` ends exactly with the stop string that fired.

Sampling: ``transformers serve`` keeps the model's ``do_sample`` default (often False) whatever the
``temperature``, so for it a request with ``temperature > 0`` also carries ``generation_config`` with
``do_sample: true``. The server kind is found once (``server="auto"``): only ``transformers serve`` has a
``/v1/systemone`` route (GET on it answers 405, elsewhere 404).
"""

from __future__ import annotations

import asyncio
import json
import random
import weakref
from dataclasses import dataclass

from mathforge.llm.base import Backend, Completion, GenParams, cut_at_stop


class RequestFailed(RuntimeError):
    """A request that did not give a usable reply, after its retries (the message says why).

    ``status``: the last HTTP status (None: no reply: refused, dropped, timed out, malformed).
    ``retryable``: False when the request itself was refused (400, 422: sending it elsewhere would not
    help), True when the server or the network failed (a router sends it to another server).
    """

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = True):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class MalformedReply(ValueError):
    """A 200 reply that is not a completion: no choices, or text that is not a string."""


@dataclass
class _LoopState:
    client: object
    semaphore: asyncio.Semaphore


class OpenAIBackend(Backend):
    concurrent = True

    def __init__(
        self,
        base_url: str,
        model: str,
        api: str = "completions",
        concurrency: int = 16,
        max_retries: int = 5,
        timeout: float = 600.0,
        backoff: float = 0.5,
        max_backoff: float = 20.0,
        api_key: str = "EMPTY",
        extra_body: dict | None = None,
        server: str = "auto",
    ):
        if api not in ("completions", "chat"):
            raise ValueError(f"api must be 'completions' or 'chat', got {api!r}")
        self.base_url = _normalize_base_url(base_url)
        self.model = self.name = model
        self.api = api
        self.concurrency = self.max_batch = max(1, int(concurrency))
        self.max_retries = max(0, int(max_retries))
        self.timeout = timeout
        self.backoff, self.max_backoff = backoff, max_backoff
        self.api_key = api_key
        self.extra_body = dict(extra_body or {})
        self.server = server  # "auto" until probed, then "transformers" or "other"
        # counters for benchmarks and reports
        self.requests = 0
        self.retries = 0
        self.failures = 0  # requests that failed after their retries
        self.in_flight = 0
        self.max_in_flight = 0
        self._states: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    # -- per event loop client: httpx connections and semaphores belong to the loop that made them
    def _state(self) -> _LoopState:
        from openai import AsyncOpenAI

        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            client = AsyncOpenAI(
                base_url=self.base_url, api_key=self.api_key, timeout=self.timeout, max_retries=0
            )  # retries are ours: counted, with our backoff
            state = _LoopState(client, asyncio.Semaphore(self.concurrency))
            self._states[loop] = state
        return state

    def stats(self) -> dict:
        return {"requests": self.requests, "retries": self.retries, "failed_requests": self.failures,
                "max_in_flight": self.max_in_flight}  # fmt: skip

    def generate(self, prompts: list, params: GenParams, on_finish=None) -> list[list[Completion]]:
        return self._generate_on_a_fresh_loop(prompts, params)

    async def agenerate(self, prompt, params: GenParams) -> list[Completion]:
        seeds = [None if params.seed is None else params.seed + i for i in range(params.n)]
        return list(await asyncio.gather(*(self._one(prompt, params, s) for s in seeds)))

    async def aclose(self) -> None:
        state = self._states.pop(asyncio.get_running_loop(), None)
        if state is not None:
            await state.client.close()

    async def _probe_server(self) -> None:
        import httpx

        kind = "other"
        try:
            async with httpx.AsyncClient(timeout=10.0) as http:
                r = await http.get(self.base_url + "/systemone")
            kind = "transformers" if r.status_code == 405 else "other"
        except httpx.HTTPError:
            pass
        self.server = kind

    async def _one(self, prompt, params: GenParams, seed: int | None) -> Completion:
        if self.server == "auto" and (params.temperature > 0 or params.min_tokens):
            await self._probe_server()
        state = self._state()
        async with state.semaphore:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                return await self._with_retries(state.client, prompt, params, seed)
            finally:
                self.in_flight -= 1

    async def _with_retries(self, client, prompt, params: GenParams, seed: int | None) -> Completion:
        import openai

        attempt = 0
        while True:
            self.requests += 1
            try:
                return await asyncio.wait_for(self._request(client, prompt, params, seed), self.timeout)
            except (openai.APIError, MalformedReply, ValueError, TimeoutError) as exc:
                # APIError covers status errors, dropped connections, and replies that are not JSON
                status = getattr(exc, "status_code", None)
                retryable = status is None or status in (408, 409, 429) or status >= 500
                if not retryable or attempt >= self.max_retries:
                    self.failures += 1
                    raise RequestFailed(f"{_describe(exc)} (after {attempt + 1} attempt(s))", status=status,
                                        retryable=retryable) from exc  # fmt: skip
                delay = self._delay(attempt, exc)
                attempt += 1
                self.retries += 1
                await asyncio.sleep(delay)

    def _delay(self, attempt: int, exc) -> float:
        retry_after = None
        response = getattr(exc, "response", None)
        if response is not None:
            try:
                retry_after = float(response.headers.get("retry-after", ""))
            except ValueError:
                retry_after = None
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_backoff)
        # exponential backoff with jitter so that many waiting samples do not retry in lockstep
        return min(self.max_backoff, self.backoff * 2**attempt) * (0.5 + random.random() / 2)

    async def _request(self, client, prompt, params: GenParams, seed: int | None) -> Completion:
        body: dict = {"model": self.model, "max_tokens": params.max_tokens, "temperature": params.temperature}
        if params.temperature > 0 and params.top_p < 1.0:
            body["top_p"] = params.top_p
        if params.stop:
            body["stop"] = list(params.stop)
        if seed is not None:
            body["seed"] = seed
        extra = dict(self.extra_body)
        if self.server == "transformers" and "generation_config" not in extra:
            # transformers serve takes what it has no field for through a GenerationConfig JSON
            config = {"do_sample": True} if params.temperature > 0 else {}
            if params.min_tokens:
                config["min_new_tokens"] = params.min_tokens
            if config:
                extra["generation_config"] = json.dumps(config)
        elif params.min_tokens:
            extra["min_tokens"] = params.min_tokens  # vLLM / SGLang sampling parameter
        if self.api == "chat":
            messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
            if messages and messages[-1].get("role") == "assistant":
                # continue a partial assistant turn (vLLM / SGLang chat-template options)
                extra.update(continue_final_message=True, add_generation_prompt=False)
            resp = await client.chat.completions.create(messages=messages, extra_body=extra or None, **body)
            choice = _first_choice(resp)
            text = _text_of(choice.message.content)
        else:
            resp = await client.completions.create(prompt=prompt, extra_body=extra or None, **body)
            choice = _first_choice(resp)
            text = _text_of(choice.text)
        usage = getattr(resp, "usage", None)
        tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        return _normalize(text, choice, params, tokens)


def _first_choice(resp):
    choices = getattr(resp, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise MalformedReply(f"the reply has no choices: {str(resp)[:200]}")
    return choices[0]


def _text_of(content) -> str:
    """A completion's text: a string; a list of content parts (some proxies send them) joined; else an error."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(p, dict) and isinstance(p.get("text", ""), str) for p in content
    ):
        return "".join(p.get("text", "") for p in content if p.get("type", "text") == "text")
    raise MalformedReply(
        f"the reply's text is a {type(content).__name__}, not a string: {str(content)[:200]}"
    )


def _describe(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    if isinstance(exc, TimeoutError):
        return "no complete reply within the request deadline"
    text = " ".join(str(exc).split())[:300] or type(exc).__name__
    return f"HTTP {status}: {text}" if status else f"{type(exc).__name__}: {text}"


def _normalize(text: str, choice, params: GenParams, tokens: int) -> Completion:
    finish = "length" if choice.finish_reason == "length" else "stop"
    text, fired = cut_at_stop(text, params.stop)
    if fired is None and finish == "stop":
        extra = choice.model_extra or {}
        reported = extra.get("stop_reason", extra.get("matched_stop"))  # vLLM / SGLang
        if isinstance(reported, str) and reported in params.stop:
            text, fired = text + reported, reported
    return Completion(text, "stop" if fired else finish, tokens, stop=fired)


def _normalize_base_url(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/v1") else url + "/v1"
