"""Text generation backends behind one interface.

``Backend.generate(prompts, params)`` continues each prompt ``params.n`` times and returns one list of
``Completion(text, finish_reason, tokens)`` per prompt; ``agenerate(prompt, params)`` does one prompt
asynchronously, so per-sample loops can interleave. Two implementations:

* :class:`HFBackend`: transformers in-process (batched, left padding, stop strings, CPU or GPU).
* :class:`OpenAIBackend`: any OpenAI-compatible server (vLLM, SGLang, ``transformers serve``).
"""

from __future__ import annotations

from mathforge.llm.base import Backend, Completion, GenParams, cut_at_stop


def __getattr__(name: str):
    # the implementations import torch / openai: load them only when asked for
    if name == "HFBackend":
        from mathforge.llm.hf import HFBackend

        return HFBackend
    if name == "OpenAIBackend":
        from mathforge.llm.openai_backend import OpenAIBackend

        return OpenAIBackend
    raise AttributeError(name)


def load_backend(
    model: str | None = None,
    base_url: str | None = None,
    *,
    api: str = "completions",
    batch_size: int = 16,
    device: str | None = None,
    concurrency: int = 16,
    max_retries: int = 5,
    **kwargs,
) -> Backend:
    """``base_url`` given: an :class:`OpenAIBackend` asking for ``model`` by name; otherwise ``model`` is a
    ``from_pretrained`` path loaded in-process by :class:`HFBackend`."""
    if base_url:
        if not model:
            raise ValueError("an HTTP backend needs --model NAME (the name the server knows the model by)")
        from mathforge.llm.openai_backend import OpenAIBackend

        return OpenAIBackend(
            base_url, model, api=api, concurrency=concurrency, max_retries=max_retries, **kwargs
        )
    if not model:
        raise ValueError("give --model PATH (in-process) or --base-url URL --model NAME (HTTP)")
    from mathforge.llm.hf import HFBackend

    return HFBackend(model, device=device, batch_size=batch_size, **kwargs)


__all__ = ["Backend", "Completion", "GenParams", "HFBackend", "OpenAIBackend", "cut_at_stop", "load_backend"]
