"""The backend interface every generator implements: continue many prompts, with stop strings and n samples."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class GenParams:
    """Sampling parameters. ``temperature == 0`` means greedy; ``seed`` makes sampling repeatable."""

    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    n: int = 1
    stop: tuple[str, ...] = ()
    seed: int | None = None
    #: generate at least this many tokens (EOS suppressed until then); benchmarks use it for equal lengths
    min_tokens: int = 0

    def __post_init__(self) -> None:
        # accept a list or a single string for stop, store a tuple (hashable, immutable)
        stop = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())
        object.__setattr__(self, "stop", stop)
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")

    def with_(self, **changes) -> GenParams:
        return replace(self, **changes)


@dataclass
class Completion:
    """One generated continuation.

    ``text`` excludes the prompt; a stop string that fired is kept at its end so that prompt + text is the
    verbatim transcript. ``finish_reason`` is ``"stop"`` (a stop string or end-of-sequence) or ``"length"``.
    ``stop`` names the stop string that fired (None for EOS / length). ``tokens`` counts generated tokens.
    """

    text: str
    finish_reason: str
    tokens: int
    stop: str | None = None
    meta: dict = field(default_factory=dict)


def cut_at_stop(text: str, stops: tuple[str, ...]) -> tuple[str, str | None]:
    """Cut ``text`` right after the earliest stop string (generation may run a few characters past it,
    because the token that completes a stop string can carry more text). Returns (text, stop or None)."""
    best: tuple[int, str] | None = None
    for s in stops:
        if not s:
            continue
        i = text.find(s)
        if i != -1 and (best is None or i + len(s) < best[0]):
            best = (i + len(s), s)
    if best is None:
        return text, None
    return text[: best[0]], best[1]


@dataclass
class Affinity:
    """Which unit of work (one sample's trajectory) the requests of the current task belong to.

    A backend that spreads requests over several servers (:class:`mathforge.llm.router.RouterBackend`)
    reads it to keep a sample's later turns on the server that holds its prefix (KV) cache: ``endpoint``
    is where the router put the unit's first request (the router sets it; it moves when that server is
    taken out). Single-server backends ignore it.
    """

    key: Hashable
    endpoint: object | None = None


_AFFINITY: contextvars.ContextVar[Affinity | None] = contextvars.ContextVar(
    "mathforge_affinity", default=None
)


@contextmanager
def affinity(key: Hashable) -> Iterator[Affinity]:
    """Mark the requests made inside (``agenerate`` calls of this asyncio task or thread) as one unit of
    work, e.g. ``with affinity((problem_id, sample)):`` around one sample's rounds.

    A context variable rather than an ``agenerate`` argument: every backend, wrapper (the request cache)
    and test stand-in keeps its ``agenerate(prompt, params)`` signature, and each asyncio task has its own
    value (tasks copy the context they start in), so concurrent samples never see each other's.
    """
    token = _AFFINITY.set(Affinity(key))
    try:
        yield _AFFINITY.get()
    finally:
        _AFFINITY.reset(token)


def current_affinity() -> Affinity | None:
    """The unit of work the current requests belong to (None: each request stands alone)."""
    return _AFFINITY.get()


class Backend(ABC):
    """Continue prompts. This class is the whole contract a backend implements: one abstract method,
    ``generate``, and the optional surface below, each with a default that is right for a simple backend.

    Callers read only these attributes; nothing else is probed. A new backend subclasses this, implements
    ``generate`` (and ``agenerate`` if it can serve many requests at once), and overrides the attributes
    that differ.
    """

    #: how reports and caches name the model: a folder path (in-process) or the served model's name (HTTP)
    name: str = "model"
    #: "completions" (raw continuation of a text prompt) or "chat" (prompt = the user message; the server
    #: applies the chat template)
    api: str = "completions"
    #: True when many concurrent ``agenerate`` calls make progress at once (HTTP): the tool-integrated loop
    #: then runs one task per sample; False (in-process): calls serialize, so the loop batches ``generate``
    concurrent: bool = False
    #: how many prompts are worth handing over at once: the forward batch (in-process) or the requests in
    #: flight (HTTP)
    max_batch: int = 16
    #: True when ``generate`` honours ``on_finish``: it is then called the moment a row stops at a stop
    #: string, while the rest of its batch still decodes (the loop starts that row's program then)
    early_finish: bool = False
    #: the tokenizer, where the backend holds one locally (it carries the chat template); None over HTTP
    tokenizer: object | None = None

    @abstractmethod
    def generate(
        self,
        prompts: list,
        params: GenParams,
        on_finish: Callable[[int, Completion], None] | None = None,
    ) -> list[list[Completion]]:
        """One list of ``params.n`` completions per prompt. ``on_finish(index, completion)`` is called
        early for rows that stop at a stop string, if ``early_finish``; a backend without it ignores it."""

    async def agenerate(self, prompt, params: GenParams) -> list[Completion]:
        """One prompt's n completions without blocking the event loop (default: a worker thread).

        Multi-turn callers wrap one sample's calls in :func:`affinity` (see there) so that a backend
        over several servers keeps them on one; the n completions of one call also stay together."""
        lock = self.__dict__.setdefault("_agenerate_lock", threading.Lock())

        def call() -> list[Completion]:
            with lock:  # one in-process generate at a time: the model is not reentrant
                return self.generate([prompt], params)[0]

        return await asyncio.to_thread(call)

    def _generate_on_a_fresh_loop(self, prompts: list, params: GenParams) -> list[list[Completion]]:
        """``generate`` for a backend whose native call is ``agenerate`` (the HTTP ones): every prompt at
        once on a new event loop, whose loop-bound resources ``aclose`` releases when it ends."""

        async def run_all():
            try:
                return await asyncio.gather(*(self.agenerate(p, params) for p in prompts))
            finally:
                await self.aclose()

        return list(asyncio.run(run_all()))

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release what belongs to the running event loop (an HTTP client); called when a loop ends."""

    def stats(self) -> dict:
        """Counters for a run's report (requests, retries, cache hits, ...; over several servers also
        ``endpoints``: {url: requests, tokens, errors, mean_latency_s, ...}); empty by default."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (HTTP clients, GPU memory)."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
