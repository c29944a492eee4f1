"""The settings every stage that talks to a model shares: which backend, and how it samples.

Declared once here and inherited by the stage configs (evaluate, synthesize, augment teacher, ...), so the
keys are flat in a recipe (``base_url: ...``) and the flags on the command line (``--base-url``).
"""

from __future__ import annotations

from typing import Literal

from mathforge.config import Config, setting


class BackendConfig(Config):
    """Where generations come from: a model folder in-process, or an OpenAI-compatible server."""

    model: str | None = setting(
        None,
        "model folder or hub id (in-process), or the name the server knows the model by (with --base-url)",
        io="in",
        kind="model",
        resume=True,
    )
    base_url: str | None = setting(None, "OpenAI-compatible server (vLLM, SGLang, transformers serve), e.g. "
                                   "http://127.0.0.1:8000/v1; without it the model runs in-process")  # fmt: skip
    base_urls: list[str] = setting(
        [],
        "more servers of the same model (with or instead of --base-url): a sample's first request goes to "
        "the one with the fewest requests in flight, its later turns stay there; a failing server is taken "
        "out and its samples move to the others",
    )
    base_urls_file: str | None = setting(
        None, "a file of server URLs, one per line (# comments), added to --base-url/--base-urls", io="in"
    )
    health_interval: float = setting(
        5.0, "several servers: seconds between health checks (0: none; servers are judged by their replies)"
    )
    api: Literal["completions", "chat"] = setting(
        "completions",
        "HTTP: completions (the prompt is continued as text) or chat (the server applies its chat template)",
        resume=True,
    )
    batch_size: int = setting(16, "in-process: sequences per forward batch")
    concurrency: int = setting(16, "HTTP: requests in flight")
    max_retries: int = setting(
        5, "HTTP: retries of a request after 429, 5xx, a timeout or a dropped connection"
    )
    request_timeout: float = setting(
        600.0, "HTTP: seconds one request may take in all (a deadline, not a per-read timeout)"
    )
    device: str | None = setting(None, "in-process: torch device (default: cuda if available, else cpu)")
    continuous_batching: bool | None = setting(
        None,
        "in-process: continuous batching (a finished row's slot is refilled at once: dense slots on a CPU, "
        "transformers' paged manager on a GPU); default: on for models of 50M+ parameters, off for smaller ones",
    )
    cache: str | None = setting(
        None, "SQLite request cache: replies are stored as they arrive and a re-run answers from it"
    )

    def served(self) -> bool:
        """Does the model come from a server (any of the URL settings), rather than from a local folder?"""
        return bool(self.base_url or self.base_urls or self.base_urls_file)

    def endpoints(self) -> list[str]:
        """Every server URL given, in order, each once (the file is read now)."""
        from mathforge.balance import check_url, read_url_list

        urls = ([self.base_url] if self.base_url else []) + list(self.base_urls)
        for url in urls:
            check_url(url, "base_urls" if url in self.base_urls else "base_url")
        if self.base_urls_file:
            urls += read_url_list(self.base_urls_file, "base_urls_file")
        return list(dict.fromkeys(urls))

    def paths(self, io):
        found = super().paths(io)
        if self.served():  # a served model is named, not read: nothing local to check
            found = [p for p in found if p[0] != "model"]
        return found


class SamplingConfig(Config):
    """How each generation call samples."""

    temperature: float = setting(0.0, "sampling temperature (0 = greedy)", resume=True)
    top_p: float = setting(1.0, "nucleus sampling: keep the smallest set of tokens with this much mass",
                           resume=True)  # fmt: skip
    max_tokens: int = setting(512, "new tokens per generation call (each round of a tool-integrated sample)",
                              resume=True)  # fmt: skip
    seed: int | None = setting(0, "sampling seed (a sample's seed is derived from it, so re-runs repeat)",
                               resume=True)  # fmt: skip

    def gen_params(self, **overrides):
        from mathforge.llm.base import GenParams

        values = dict(
            max_tokens=self.max_tokens, temperature=self.temperature, top_p=self.top_p, seed=self.seed
        )
        return GenParams(**{**values, **overrides})
