"""Text generation backends behind one interface.

``Backend.generate(prompts, params)`` continues each prompt ``params.n`` times and returns one list of
``Completion(text, finish_reason, tokens)`` per prompt; ``agenerate(prompt, params)`` does one prompt
asynchronously, so per-sample loops can interleave. Two implementations:

* :class:`HFBackend`: transformers in-process (batched, left padding, stop strings, CPU or GPU).
* :class:`OpenAIBackend`: any OpenAI-compatible server (vLLM, SGLang, ``transformers serve``).
* :class:`RouterBackend`: several such servers of one model, a sample's turns kept on one (``router.py``).
"""

from __future__ import annotations

from mathforge.io import DataError
from mathforge.llm.base import (
    Affinity,
    Backend,
    Completion,
    GenParams,
    affinity,
    current_affinity,
    cut_at_stop,
)
from mathforge.llm.config import BackendConfig, SamplingConfig


def __getattr__(name: str):
    # the implementations import torch / openai: load them only when asked for
    if name == "HFBackend":
        from mathforge.llm.hf import HFBackend

        return HFBackend
    if name == "OpenAIBackend":
        from mathforge.llm.openai_backend import OpenAIBackend

        return OpenAIBackend
    if name == "RouterBackend":
        from mathforge.llm.router import RouterBackend

        return RouterBackend
    if name in ("CachedBackend", "RequestCache"):
        from mathforge.llm import cache

        return getattr(cache, name)
    raise AttributeError(name)


#: models at least this large are batched continuously in-process by default (measured: below it the
#: toy model runs slower through the manager than in static batches)
CONTINUOUS_MIN_PARAMETERS = 50_000_000


def load_backend(cfg: BackendConfig, **overrides) -> Backend:
    """The backend ``cfg`` describes: an :class:`OpenAIBackend` asking for ``cfg.model`` by name when one
    server URL is given, a :class:`~mathforge.llm.router.RouterBackend` over several, otherwise
    :class:`HFBackend` loading ``cfg.model`` in-process; wrapped in a :class:`CachedBackend` when
    ``cfg.cache`` names a request cache. ``overrides`` go to the backend's constructor (e.g. ``extra_body``
    for a server)."""
    if cfg.served():
        if not cfg.model:
            raise DataError("an HTTP backend needs --model NAME (the name the server knows the model by)",
                            field="model")  # fmt: skip
        urls = cfg.endpoints()
        options = dict(api=cfg.api, concurrency=cfg.concurrency, max_retries=cfg.max_retries,
                       timeout=cfg.request_timeout)  # fmt: skip
        if len(urls) == 1:  # one server, or one router in front of many (sgl-router, a vLLM DP front end)
            from mathforge.llm.openai_backend import OpenAIBackend

            backend: Backend = OpenAIBackend(urls[0], cfg.model, **options, **overrides)
        else:
            from mathforge.llm.router import RouterBackend

            backend = RouterBackend(urls, cfg.model, **options, health_interval=cfg.health_interval,
                                    **overrides)  # fmt: skip
    else:
        if not cfg.model:
            raise DataError(
                "give --model PATH (in-process) or --base-url URL --model NAME (HTTP)", field="model"
            )
        from mathforge.llm.hf import HFBackend

        backend = HFBackend(
            check_model_path(cfg.model), device=cfg.device, batch_size=cfg.batch_size, **overrides
        )
        continuous = cfg.continuous_batching
        if continuous is None:  # a tiny model's steps are too cheap for the manager's per-step work to pay
            continuous = backend.model.num_parameters() >= CONTINUOUS_MIN_PARAMETERS
        if continuous and backend.device == "cpu":  # dense slots: paged attention does not pay on a CPU
            from mathforge.llm.slots import SlotBackend

            backend = SlotBackend(backend, slots=cfg.batch_size)
        elif continuous:
            from mathforge.llm.continuous import ContinuousHFBackend

            backend = ContinuousHFBackend(backend, slots=cfg.batch_size)
    if cfg.cache:
        from mathforge.llm.cache import CachedBackend

        backend = CachedBackend(backend, cfg.cache, model=cfg.model)
    return backend


def check_model_path(model: str) -> str:
    """A model that looks like a local path must exist: say so, instead of the hub's "malformed id"."""
    import re
    from pathlib import Path

    path = Path(model).expanduser()
    hub_id = re.fullmatch(r"[\w.-]+(/[\w.-]+)?", model) and not model.startswith(".")
    looks_local = not hub_id or path.exists()
    if looks_local and not (path / "config.json").exists():
        reason = "does not exist" if not path.exists() else "has no config.json (not a model folder)"
        raise DataError(f"model {reason}", path, field="model")
    if not looks_local and _offline() and not _in_hub_cache(model):
        raise DataError(
            f"model {model!r} is not a local folder, and the hub is off (HF_HUB_OFFLINE) with no cached copy",
            field="model",
        )
    return str(path) if looks_local else model


def _offline() -> bool:
    import os

    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")


def _in_hub_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)


__all__ = [
    "Affinity",
    "Backend",
    "BackendConfig",
    "CachedBackend",
    "Completion",
    "GenParams",
    "HFBackend",
    "OpenAIBackend",
    "RequestCache",
    "RouterBackend",
    "SamplingConfig",
    "affinity",
    "check_model_path",
    "current_affinity",
    "cut_at_stop",
    "load_backend",
]
