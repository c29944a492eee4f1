"""An on-disk request cache in front of any ``mathforge.llm`` backend: a re-run costs nothing.

The key is a hash of everything that determines a reply: the model name, the API (completions/chat),
the prompt and the sampling parameters (``n`` and ``seed`` included). The value is the list of
completions. SQLite (WAL mode) holds it: one file, safe when several processes share it, and a row is
committed as soon as it arrives, so a killed run keeps what it paid for.

``CachedBackend`` also keeps the token accounting: completion tokens actually generated (misses) and
tokens served from the cache (hits).

Only well-formed replies are stored (a text string per completion, a known finish reason, an integer token
count): a proxy that answers with ``content`` as a list of parts or a number must not poison the cache for
every re-run. A stored entry that does not read back as completions (written by an older version, or
damaged) is treated as a miss and asked for again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import threading
from dataclasses import asdict
from pathlib import Path

from mathforge.llm.base import Backend, Completion, GenParams


def request_key(model: str, api: str, prompt, params: GenParams) -> str:
    blob = json.dumps(
        {"model": model, "api": api, "prompt": prompt, "params": asdict(params)},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class InvalidReply(ValueError):
    """A reply that is not a list of text completions (so it is neither used nor cached)."""


def valid_completion(c) -> bool:
    return (
        isinstance(c, Completion)
        and isinstance(c.text, str)
        and c.finish_reason in ("stop", "length")
        and isinstance(c.tokens, int)
        and (c.stop is None or isinstance(c.stop, str))
    )


class RequestCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._db.commit()

    def get(self, key: str) -> list[Completion] | None:
        """The stored completions, or None for a miss (also for an entry that is not valid completions)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM replies WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            completions = [Completion(**c) for c in json.loads(row[0])]
        except (ValueError, TypeError):
            return None
        return completions if all(valid_completion(c) for c in completions) else None

    def put(self, key: str, completions: list[Completion]) -> None:
        """Store well-formed completions; raise :class:`InvalidReply` (and store nothing) otherwise."""
        bad = [c for c in completions if not valid_completion(c)]
        if bad or not completions:
            raise InvalidReply(
                f"not caching a malformed reply: {bad[0] if bad else 'no completions'!r}"[:300]
            )
        value = json.dumps([asdict(c) for c in completions], ensure_ascii=False)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO replies (key, value) VALUES (?, ?)", (key, value))
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CachedBackend(Backend):
    """Wraps a backend: answers from the cache when it can, asks the backend (and stores) otherwise."""

    def __init__(self, backend: Backend, cache: RequestCache | str | Path, model: str | None = None):
        self.backend = backend
        self.cache = cache if isinstance(cache, RequestCache) else RequestCache(cache)
        self.model = self.name = model or backend.name
        self.api = backend.api
        self.concurrent = backend.concurrent
        self.max_batch = backend.max_batch
        self.tokenizer = backend.tokenizer
        self.hits = self.misses = 0
        self.tokens_generated = self.tokens_cached = 0
        self._count_lock = threading.Lock()

    def _key(self, prompt, params: GenParams) -> str:
        return request_key(str(self.model), self.api, prompt, params)

    def _hit(self, completions: list[Completion]) -> list[Completion]:
        with self._count_lock:
            self.hits += 1
            self.tokens_cached += sum(c.tokens for c in completions)
        return completions

    def _store(self, key: str, completions: list[Completion]) -> list[Completion]:
        self.cache.put(key, completions)
        with self._count_lock:
            self.misses += 1
            self.tokens_generated += sum(c.tokens for c in completions)
        return completions

    def generate(self, prompts: list, params: GenParams, on_finish=None) -> list[list[Completion]]:
        keys = [self._key(p, params) for p in prompts]
        found = [self.cache.get(k) for k in keys]
        todo = [i for i, f in enumerate(found) if f is None]
        fresh = self.backend.generate([prompts[i] for i in todo], params) if todo else []
        out: list[list[Completion]] = []
        fresh_iter = iter(fresh)
        for i, f in enumerate(found):
            out.append(self._hit(f) if f is not None else self._store(keys[i], next(fresh_iter)))
        return out

    async def agenerate(self, prompt, params: GenParams) -> list[Completion]:
        key = self._key(prompt, params)
        found = await asyncio.to_thread(self.cache.get, key)
        if found is not None:
            return self._hit(found)
        completions = await self.backend.agenerate(prompt, params)
        await asyncio.to_thread(self.cache.put, key, completions)
        with self._count_lock:
            self.misses += 1
            self.tokens_generated += sum(c.tokens for c in completions)
        return completions

    async def aclose(self) -> None:
        """Close the wrapped backend's per-event-loop client (HTTP backends)."""
        await self.backend.aclose()

    def stats(self) -> dict:
        return {
            **self.backend.stats(),
            "requests_cached": self.hits,
            "requests_sent": self.misses,
            "tokens_generated": self.tokens_generated,
            "tokens_from_cache": self.tokens_cached,
        }

    def close(self) -> None:
        self.backend.close()
        self.cache.close()
