"""Continuous batching on a CPU: a fixed number of decoding slots, each refilled the moment its row ends.

transformers' continuous-batching manager (``mathforge.llm.continuous``) runs paged attention, which on a
2-core CPU decoded SmolLM2-135M at 58 tokens/s where a plain batched ``generate`` managed 109 (measured,
docs/PERFORMANCE.md): its gains are a GPU's. This engine keeps the dense KV cache that ``generate`` uses and
adds what static batching lacks: one background thread decodes every live row a token at a time (one
forward pass per step over all slots), and when a row ends (EOS, a stop string, its token budget) its slot
takes the next waiting request: the newcomers are prefilled together between two steps and their cache rows
are left-padded to the batch's width and joined to it. Leading columns that no live row uses are dropped,
so the width stays near the longest live row.

Each request samples from its own generator seeded from ``params.seed`` and the request's order of
submission, so a run's samples do not depend on which rows happen to share a step. Row-level numerics can
still differ from a static batch in the last float bits (other padding), as between any two batch shapes.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from dataclasses import dataclass, field

from mathforge.llm.base import Backend, Completion, GenParams, cut_at_stop


@dataclass
class _Request:
    ids: list[int]
    params: GenParams
    budget: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    seed: int | None
    generated: list[int] = field(default_factory=list)
    generator: object = None


class SlotBackend(Backend):
    """Wraps a loaded :class:`~mathforge.llm.hf.HFBackend` (model, tokenizer, completion rules)."""

    concurrent = True

    def __init__(self, hf, slots: int = 16, num_threads: int | None = None):
        self.hf = hf
        self.name = hf.name
        self.tokenizer = hf.tokenizer
        self.max_batch = max(1, int(slots))
        self.num_threads = num_threads
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.steps = 0
        self.refills = 0
        self.requests = 0

    # -- the asyncio side
    async def agenerate(self, prompt, params: GenParams) -> list[Completion]:
        if params.min_tokens:
            return await super().agenerate(prompt, params)  # fixed-length generation: the static path
        ids = self.tokenizer(prompt)["input_ids"]
        budget = params.max_tokens
        if self.hf._max_positions:
            budget = min(budget, self.hf._max_positions - len(ids))
        if budget < 1:
            return [Completion("", "length", 0) for _ in range(params.n)]
        self._ensure_thread()
        loop = asyncio.get_running_loop()
        futures = []
        for i in range(params.n):
            req = _Request(ids, params, budget, loop, loop.create_future(), _seed(params.seed, ids, i))
            self._queue.put(req)
            futures.append(req.future)
        return list(await asyncio.gather(*futures))

    def generate(self, prompts: list, params: GenParams, on_finish=None) -> list[list[Completion]]:
        async def run_all():
            return await asyncio.gather(*(self.agenerate(p, params) for p in prompts))

        return list(asyncio.run(run_all()))

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="mathforge-slots", daemon=True)
                self._thread.start()

    def stats(self) -> dict:
        return {"slot_requests": self.requests, "decode_steps": self.steps, "slot_refills": self.refills}

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=30)
        self.hf.close()

    # -- the decoding thread
    def _serve(self) -> None:
        import torch

        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        with torch.inference_mode():
            batch = _Batch(self.hf)
            stopping = False
            while not stopping or batch.rows:
                waiting = []
                while len(batch.rows) + len(waiting) < self.max_batch:
                    try:
                        item = self._queue.get(block=not batch.rows and not waiting and not stopping)
                    except queue.Empty:
                        break
                    if item is None:
                        stopping = True
                        break
                    waiting.append(item)
                if waiting:
                    self.refills += bool(batch.rows)
                    self.requests += len(waiting)
                    self._finish(batch.admit(waiting))
                if batch.rows:
                    self.steps += 1
                    self._finish(batch.step())

    def _finish(self, ended: list[tuple[_Request, str | None]]) -> None:
        for req, stop in ended:
            if stop is not None:
                text, fired = cut_at_stop(self.tokenizer.decode(req.generated, skip_special_tokens=True),
                                          req.params.stop)  # fmt: skip
                completion = Completion(text, "stop", len(req.generated), stop=fired)
            else:
                completion = self.hf._completion(req.generated, req.params, req.budget)
            req.loop.call_soon_threadsafe(_resolve, req.future, completion)


def _seed(seed: int | None, ids: list[int], i: int) -> int | None:
    """A request's own seed: from the run's seed, its prompt and its index among the prompt's n samples, so
    it draws the same numbers whichever rows share its steps and in whatever order requests arrive."""
    if seed is None:
        return None
    import zlib

    return (zlib.crc32(repr(ids).encode()) * 1_000_003 + seed * 7_919 + i) % (1 << 63)


def _resolve(future: asyncio.Future, completion: Completion) -> None:
    if not future.done():
        future.set_result(completion)


class _Batch:
    """The live rows: their requests, the dense cache [rows, heads, width, dim] and the attention mask."""

    def __init__(self, hf):
        self.hf = hf
        self.model = hf.model
        self.rows: list[_Request] = []
        self.cache = None
        self.mask = None  # [rows, width] long
        self.last = None  # [rows] the token each row feeds next
        self.device = next(self.model.parameters()).device

    def admit(self, new: list[_Request]) -> list[tuple[_Request, str | None]]:
        """Prefill ``new`` together (left-padded), join their cache rows to the batch; returns rows that
        ended on their first token."""
        import torch
        from transformers import DynamicCache

        width = max(len(r.ids) for r in new)
        pad = self.hf.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(r.ids)) + r.ids for r in new], device=self.device)
        mask = torch.tensor([[0] * (width - len(r.ids)) + [1] * len(r.ids) for r in new], device=self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache(config=self.model.config)
        logits = self.model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True,
                            **{self.hf._cache_kwarg: cache}).logits[:, -1, :]  # fmt: skip
        for r in new:
            if r.seed is not None:
                r.generator = torch.Generator(device=self.device).manual_seed(r.seed)
        first = self._choose(logits, new)
        self._join(new, cache, mask)
        self.last = torch.cat([self.last, first]) if self.last is not None else first
        return self._record(first, offset=len(self.rows) - len(new))

    def step(self) -> list[tuple[_Request, str | None]]:
        import torch

        self.mask = torch.cat([self.mask, torch.ones_like(self.mask[:, :1])], dim=1)
        positions = self.mask.sum(-1, keepdim=True) - 1
        logits = self.model(input_ids=self.last[:, None], attention_mask=self.mask, position_ids=positions,
                            use_cache=True, **{self.hf._cache_kwarg: self.cache}).logits[:, -1, :]  # fmt: skip
        self.last = self._choose(logits, self.rows)
        return self._record(self.last, offset=0)

    def _choose(self, logits, rows: list[_Request]):
        import torch

        out = torch.argmax(logits, dim=-1)
        for j, r in enumerate(rows):
            p = r.params
            if p.temperature > 0:
                probs = torch.softmax(logits[j].float() / p.temperature, dim=-1)
                if p.top_p < 1.0:
                    sorted_p, order = torch.sort(probs, descending=True)
                    keep = sorted_p.cumsum(-1) - sorted_p < p.top_p
                    probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_p[keep])
                out[j] = torch.multinomial(probs, 1, generator=r.generator)[0]
        return out

    def _record(self, tokens, offset: int) -> list[tuple[_Request, str | None]]:
        """Append each row's token; drop the rows that ended (EOS, a stop string, their budget)."""
        ended, keep = [], []
        for j, tok in enumerate(tokens.tolist()):
            r = self.rows[offset + j] if offset + j < len(self.rows) else None
            if r is None:
                continue
            r.generated.append(tok)
            reason = self._ended(r, tok)
            if reason is False:
                keep.append(offset + j)
            else:
                ended.append((r, reason))
        if ended:
            kept = [i for i in range(len(self.rows)) if i < offset or i in keep]
            self._select(kept)
        return ended

    def _ended(self, r: _Request, tok: int):
        """False: go on; None: ended at EOS or its budget; a string: ended at that stop string."""
        if tok in self.hf._eos_ids or len(r.generated) >= r.budget:
            return None
        stops = r.params.stop
        if stops and bool(self.hf._stop_mask(stops)[tok]):
            window = max(len(s) for s in stops) + 2
            tail = self.hf.tokenizer.decode(r.generated[-window:], skip_special_tokens=True)
            fired = next((s for s in stops if s in tail), None)
            if fired is not None:
                return fired
        return False

    def _select(self, kept: list[int]) -> None:
        import torch

        index = torch.tensor(kept, dtype=torch.long, device=self.device)
        self.rows = [self.rows[i] for i in kept]
        if not self.rows:
            self.cache = self.mask = self.last = None
            return
        self.cache.batch_select_indices(index)
        self.mask = self.mask.index_select(0, index)
        self.last = self.last.index_select(0, index)
        used = self.mask.any(dim=0).nonzero()
        start = int(used[0]) if used.numel() else 0
        if start >= 16:  # columns no live row attends to: drop them, the width follows the live rows
            self.mask = self.mask[:, start:]
            for layer in self.cache.layers:
                layer.keys, layer.values = layer.keys[:, :, start:], layer.values[:, :, start:]

    def _join(self, new: list[_Request], cache, mask) -> None:
        import torch

        if self.cache is None:
            self.rows, self.cache, self.mask = list(new), cache, mask
            return
        width, add = self.mask.shape[1], mask.shape[1]
        target = max(width, add)

        def left_pad(t, n, dim):
            if n == 0:
                return t
            shape = list(t.shape)
            shape[dim] = n
            return torch.cat([torch.zeros(shape, dtype=t.dtype, device=t.device), t], dim=dim)

        for old, fresh in zip(self.cache.layers, cache.layers, strict=True):
            old.keys = torch.cat(
                [left_pad(old.keys, target - width, 2), left_pad(fresh.keys, target - add, 2)]
            )
            old.values = torch.cat(
                [left_pad(old.values, target - width, 2), left_pad(fresh.values, target - add, 2)]
            )
        self.mask = torch.cat([left_pad(self.mask, target - width, 1), left_pad(mask, target - add, 1)])
        self.rows += new
