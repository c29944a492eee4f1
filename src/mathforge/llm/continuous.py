"""Continuous batching in-process, through transformers' own continuous-batching manager.

Static batching (``HFBackend.generate``) makes a batch wait for its longest row: with a real model's
answers of 100 to 512 tokens most of a batch idles, and a tool-integrated round waits again for every
row's program. Here every prompt is a request to ``model.init_continuous_batching()``'s manager, whose
background thread decodes all live requests together (paged KV cache) and fills a finished request's slot
with the next one at once. The backend is ``concurrent``, so the tool-integrated loop runs one task per
sample, as over HTTP: a sample's program runs the moment its request stops at the output fence, and its
next round joins the running batch as soon as the program has printed; prompts that share a prefix (the
rounds of one sample, worked examples) share cache blocks.

Stop strings are not the manager's business: each request streams its tokens, and when a token may
complete a stop string (the same vocabulary mask as ``HFBackend``) the tail is decoded and, if a stop
string fired, the request is cancelled and answered with the text up to it.

Sampling (``temperature > 0``) goes through the manager's single random stream, so which sample draws which
numbers depends on scheduling: greedy decoding is exact and repeatable, sampled decoding is not repeatable
bit for bit (as with an HTTP server). Benchmarks that need ``min_tokens`` use the static path.
"""

from __future__ import annotations

import asyncio
import threading
import uuid

from mathforge.llm.base import Backend, Completion, GenParams, cut_at_stop


class ContinuousHFBackend(Backend):
    """Wraps a loaded :class:`~mathforge.llm.hf.HFBackend` (its model, tokenizer and completion rules)."""

    concurrent = True

    def __init__(self, hf, slots: int = 32, max_batch_tokens: int = 1024):
        self.hf = hf
        self.max_batch_tokens = max_batch_tokens
        self.name = hf.name
        self.tokenizer = hf.tokenizer
        self.max_batch = max(1, int(slots))
        self._manager = None
        self._manager_key: tuple | None = None
        self._lock = threading.Lock()
        self.requests = 0
        self.cancelled_at_stop = 0

    # -- the manager: one per sampling configuration (a run uses one)
    def _manager_for(self, params: GenParams):
        key = (params.temperature, params.top_p, params.seed)
        with self._lock:
            if self._manager is not None and self._manager_key == key:
                return self._manager
            self._stop_manager()
            self._manager = self._start_manager(params)
            self._manager_key = key
            return self._manager

    def _start_manager(self, params: GenParams):
        from transformers import GenerationConfig
        from transformers.generation.configuration_utils import ContinuousBatchingConfig

        sampling = params.temperature > 0
        gen = GenerationConfig(
            max_new_tokens=params.max_tokens,
            do_sample=sampling,
            temperature=params.temperature if sampling else None,
            top_p=params.top_p if sampling else None,
            top_k=0 if sampling else None,
            eos_token_id=sorted(self.hf._eos_ids),
            pad_token_id=self.tokenizer.pad_token_id,
        )
        # a CPU step over more than ~1k tokens gains nothing, and the manager's warm-up runs one step of
        # max_batch_tokens (8192 by default: 40 s on a busy 2-core machine)
        cb = ContinuousBatchingConfig(max_requests_per_batch=self.max_batch, max_batch_tokens=self.max_batch_tokens,
                                      allow_block_sharing=True, seed=params.seed, auto_switch_to_flash=False)  # fmt: skip
        manager = self.hf.model.init_continuous_batching(generation_config=gen, continuous_batching_config=cb)
        manager.start()
        return manager

    def _stop_manager(self) -> None:
        if self._manager is not None:
            self._manager.stop(block=True)
            self._manager = None

    # -- generation
    async def agenerate(self, prompt, params: GenParams) -> list[Completion]:
        if params.min_tokens:  # the manager has no min_new_tokens: the static path does
            return await super().agenerate(prompt, params)
        ids = self.tokenizer(prompt)["input_ids"]
        budget = params.max_tokens
        if self.hf._max_positions:
            budget = min(budget, self.hf._max_positions - len(ids))
        if budget < 1:
            return [Completion("", "length", 0) for _ in range(params.n)]
        manager = self._manager_for(params)
        return list(
            await asyncio.gather(*(self._request(manager, ids, params, budget) for _ in range(params.n)))
        )

    def _request(self, manager, ids: list[int], params: GenParams, budget: int) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()
        rid = uuid.uuid4().hex
        mask = self.hf._stop_mask(params.stop) if params.stop else None
        window = max((len(s) for s in params.stop), default=0) + 2

        def on_output(out) -> None:
            if done.done():
                return  # a request cancelled at its stop string may still report once
            tokens = out.generated_tokens
            if mask is not None and tokens and not out.is_finished() and bool(mask[tokens[-1]]):
                tail = self.tokenizer.decode(tokens[-window:], skip_special_tokens=True)
                if any(s in tail for s in params.stop):
                    manager.cancel_request(rid)
                    self.cancelled_at_stop += 1
                    done.set_result(self._stopped(tokens, params))
                    return
            if out.is_finished():
                if out.error:
                    done.set_exception(RuntimeError(f"continuous batching failed a request: {out.error}"))
                else:
                    done.set_result(self.hf._completion(tokens, params, budget))

        manager.register_result_handler(rid, on_output)
        manager.add_request(ids, request_id=rid, max_new_tokens=budget, streaming=mask is not None)
        self.requests += 1
        return done

    def _stopped(self, tokens: list[int], params: GenParams) -> Completion:
        text, fired = cut_at_stop(self.tokenizer.decode(tokens, skip_special_tokens=True), params.stop)
        return Completion(text, "stop", len(tokens), stop=fired)

    def generate(self, prompts: list, params: GenParams, on_finish=None) -> list[list[Completion]]:
        async def run_all():
            return await asyncio.gather(*(self.agenerate(p, params) for p in prompts))

        return list(asyncio.run(run_all()))

    def stats(self) -> dict:
        return {"continuous_requests": self.requests, "cancelled_at_stop_string": self.cancelled_at_stop}

    def close(self) -> None:
        with self._lock:
            self._stop_manager()
        self.hf.close()
