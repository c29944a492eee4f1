"""In-process generation with transformers: batched, left-padded, stop strings, CPU or GPU."""

from __future__ import annotations

import inspect
import os
import threading
from collections.abc import Callable
from contextlib import contextmanager

from mathforge.llm.base import Backend, Completion, GenParams, cut_at_stop
from mathforge.llm.prefix_cache import KeptBatch, KeptRow, build_inputs, match


class HFBackend(Backend):
    """Any ``from_pretrained`` path (or an already loaded ``model`` + ``tokenizer``).

    Prompts are sorted by length and generated ``batch_size`` sequences at a time with left padding, so
    one long prompt does not pad a whole batch of short ones. Stop strings stop each row of a batch on its
    own. With ``prefix_cache`` (default) a prompt that extends a prompt + completion of the previous call
    (the next round of a tool-integrated sample) is continued from that call's KV cache: only its new
    tokens are encoded (see ``mathforge.llm.prefix_cache``); the cache of a call with at most
    ``batch_size`` prompts is held until the next call.
    """

    concurrent = False

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        device: str | None = None,
        batch_size: int = 16,
        dtype: str | None = None,
        model=None,
        tokenizer=None,
        num_threads: int | None = None,
        prefix_cache: bool = True,
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.batch_size = self.max_batch = max(1, int(batch_size))
        self.path = str(path) if path is not None else None
        self.name = self.path or type(model).__name__
        if tokenizer is None:
            tokenizer = AutoTokenizer.from_pretrained(self.path)
        if model is None:
            if dtype is None:
                dtype = "bfloat16" if device.startswith("cuda") else "float32"
            model = AutoModelForCausalLM.from_pretrained(self.path, dtype=getattr(torch, dtype))
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        eos = self.model.generation_config.eos_token_id
        eos = eos if isinstance(eos, list) else [eos]
        self._eos_ids = {e for e in [*eos, self.tokenizer.eos_token_id] if e is not None}
        self._lock = threading.Lock()
        self._max_positions = getattr(self.model.config, "max_position_embeddings", None)
        self._ending_masks: dict[tuple[str, ...], object] = {}
        if num_threads is None and device == "cpu" and self.model.num_parameters() < 20_000_000:
            # a tiny model's matrices are too small to split across cores: extra intra-op threads only add
            # synchronisation (10-100x slower on a busy 2-core machine), so generate single-threaded
            num_threads = 1
        self.num_threads = num_threads
        self.prefix_cache = prefix_cache
        self._kept: list[KeptRow] = []
        # transformers renamed generate's past_key_values to cache during 5.x
        params = inspect.signature(self.model.forward).parameters
        self._cache_kwarg = "cache" if "cache" in params else "past_key_values"
        self.reused_tokens = 0  # prompt tokens taken from a kept cache instead of encoded again

    def stats(self) -> dict:
        return {"prefix_cache_reused_tokens": self.reused_tokens}

    early_finish = True  # see Backend.early_finish: the tir loop starts a row's code while the batch decodes

    def generate(
        self,
        prompts: list[str],
        params: GenParams,
        on_finish: Callable[[int, Completion], None] | None = None,
    ) -> list[list[Completion]]:
        import torch

        results: list[list[Completion]] = [[] for _ in prompts]
        if not prompts:
            return results
        # keep caches only for a call that fits one batch (a tir round does): a bulk call over thousands
        # of prompts must not hold every chunk's KV cache until the next call
        keep = self.prefix_cache and params.n == 1 and len(prompts) <= self.batch_size
        if params.n != 1:
            on_finish = None  # rows are samples of prompts then; the caller gets them at the end
        with self._lock, torch.inference_mode(), _torch_threads(self.num_threads):
            kept, self._kept = self._kept, []  # only the last call's rows are ever continued
            if params.seed is not None:
                torch.manual_seed(params.seed)
            groups, fresh = match(prompts, kept, self._encode) if keep and kept else ([], range(len(prompts)))
            del kept
            for group in groups:
                ids, mask, cache, cols = build_inputs(group, self.tokenizer.pad_token_id)
                outs = self._run(ids, mask, cols, [prompts[i] for i in group.positions], params, keep,
                                 cache, _report(on_finish, group.positions))  # fmt: skip
                for i, out in zip(group.positions, outs, strict=True):
                    results[i] = [out]
            # sort by length so that a batch holds prompts of similar size (less padding, less waste)
            order = sorted(fresh, key=lambda i: len(prompts[i]))
            per_batch = max(1, self.batch_size // params.n)
            for start in range(0, len(order), per_batch):
                idx = order[start : start + per_batch]
                outs = self._generate_batch([prompts[i] for i in idx], params, keep, _report(on_finish, idx))
                for j, i in enumerate(idx):
                    results[i] = outs[j * params.n : (j + 1) * params.n]
            self.reused_tokens += sum(sum(g.reuse) for g in groups)
        return results

    def _encode(self, texts: list[str]) -> list[list[int]]:
        return self.tokenizer(texts)["input_ids"]

    def _generate_batch(
        self, prompts: list[str], params: GenParams, keep: bool, report=None
    ) -> list[Completion]:
        enc = self.tokenizer(prompts, return_tensors="pt", padding=True)
        mask = enc["attention_mask"]
        cols = [row.nonzero().flatten().tolist() for row in mask]
        return self._run(enc["input_ids"], mask, cols, prompts, params, keep, report=report)

    def _run(
        self, input_ids, mask, cols, prompts, params: GenParams, keep: bool, cache=None, report=None
    ) -> list[Completion]:
        """Generate from ``input_ids`` (row j's own tokens sit in columns ``cols[j]``); with ``keep``,
        remember every row for a later continuation (see ``prefix_cache``); ``report(j, completion)``
        as soon as row j stops at a stop string."""
        tok = self.tokenizer
        width = input_ids.shape[1]
        # never run past the model's context: a long multi-round transcript ends as "length", not a crash
        budget = params.max_tokens
        if self._max_positions:
            budget = min(budget, self._max_positions - max(len(c) for c in cols))
        if budget < 1:
            return [Completion("", "length", 0) for _ in range(len(prompts) * params.n)]
        kwargs = dict(max_new_tokens=budget, num_return_sequences=params.n, pad_token_id=tok.pad_token_id)
        if params.min_tokens:
            kwargs["min_new_tokens"] = min(params.min_tokens, budget)
        if params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=0)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if params.stop:
            # checks only the newly decoded tail of each row: transformers' own stop_strings criterion costs
            # ~20 ms to set up per call and ~1 ms a step, which a tiny model's multi-round loop pays in full
            ending = self._stop_mask(params.stop)
            emit = None
            if report is not None:

                def emit(j, ids):  # noqa: E306 - closes over this batch's width and budget
                    report(j, self._completion(ids[width:], params, budget))

            kwargs["stopping_criteria"] = [_TailStop(tok, params.stop, width, ending, emit)]
        if cache is not None:
            kwargs[self._cache_kwarg] = cache
        out = self.model.generate(
            input_ids=input_ids.to(self.device),
            attention_mask=mask.to(self.device),
            use_cache=True,
            return_dict_in_generate=keep,
            **kwargs,
        )
        seqs = out.sequences if keep else out
        new = seqs[:, width:].tolist()
        completions = [self._completion(ids, params, budget) for ids in new]
        cache = (getattr(out, "cache", None) or getattr(out, "past_key_values", None)) if keep else None
        if cache is not None and cache.get_seq_length() == seqs.shape[1] - 1:
            batch = KeptBatch(seqs, cache)
            own = input_ids.tolist()
            for j, (prompt, c, ids) in enumerate(zip(prompts, completions, new, strict=True)):
                n = self._own_length(ids)
                self._kept.append(
                    KeptRow(
                        prompt + c.text,
                        [own[j][k] for k in cols[j]] + ids[:n],
                        list(cols[j]) + list(range(width, width + n)),
                        batch,
                        j,
                    )
                )
        return completions

    def _stop_mask(self, stops: tuple[str, ...]):
        """The vocabulary mask of tokens that may complete one of ``stops`` (built once per stop set)."""
        mask = self._ending_masks.get(stops)
        if mask is None:
            mask = self._ending_masks[stops] = ending_mask(self.tokenizer, stops)
        return mask

    def _own_length(self, ids: list[int]) -> int:
        """How many generated ids belong to the row (the rest is padding after it stopped)."""
        end_ids = self._eos_ids | {self.tokenizer.pad_token_id}
        return next((k for k, t in enumerate(ids) if t in end_ids), len(ids))

    def _completion(self, ids: list[int], params: GenParams, budget: int) -> Completion:
        # generation ends at EOS; rows stopped early (stop string, or another row still running) are
        # padded with pad_token_id, which is often the EOS id itself
        n = self._own_length(ids)
        hit_eos = n < len(ids) and ids[n] in self._eos_ids
        text = self.tokenizer.decode(ids[:n], skip_special_tokens=True)
        text, fired = cut_at_stop(text, params.stop)
        if fired is not None:
            return Completion(text, "stop", n, stop=fired)
        if hit_eos:
            return Completion(text, "stop", n + 1)  # the EOS token was generated too
        return Completion(text, "length" if n >= budget else "stop", n)


class _TailStop:
    """Per-row stop once the generated text contains a stop string (a ``StoppingCriteria``).

    A stop string can only be completed by a token whose text starts with a suffix of it (or contains it):
    ``ending_mask`` marks those vocabulary ids once, so each step costs one tensor lookup and only the
    few rows whose last token qualifies are decoded (their last ``len(longest stop) + 2`` tokens, enough
    since every token decodes to at least one character). ``emit(row, ids)`` is called once per row
    when it stops, with its full token ids (the rows still running do not wait for it).
    """

    def __new__(cls, tokenizer, stops, prompt_len: int, ending_mask, emit=None):
        import torch
        from transformers import StoppingCriteria

        window = max(len(s) for s in stops) + 2
        fired: set[int] = set()

        class TailStop(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
                rows = ending_mask.to(input_ids.device)[input_ids[:, -1]].nonzero().flatten().tolist()
                if rows:
                    lo = max(prompt_len, input_ids.shape[1] - window)
                    tails = tokenizer.batch_decode(input_ids[rows, lo:].tolist(), skip_special_tokens=True)
                    for r, t in zip(rows, tails, strict=True):
                        done[r] = any(s in t for s in stops)
                        if emit is not None and done[r] and r not in fired:
                            fired.add(r)
                            emit(r, input_ids[r].tolist())
                return done

        return TailStop()


def ending_mask(tokenizer, stops: tuple[str, ...]):
    """Bool tensor over token ids: may this token complete one of ``stops``? (False positives are harmless.)"""
    import torch

    n = max(len(tokenizer), max(tokenizer.get_vocab().values()) + 1)
    mask = torch.ones(n, dtype=torch.bool)
    for tid, piece in enumerate(tokenizer.convert_ids_to_tokens(list(range(n)))):
        if piece is None:
            continue
        texts = {tokenizer.decode([tid]), piece.replace("\u2581", " ").replace("\u0120", " ")}
        if any(not t or "\ufffd" in t for t in texts):
            continue  # unknown rendering: keep as a candidate
        mask[tid] = any(
            s in t or any(t.startswith(s[-j:]) for j in range(1, len(s) + 1)) for s in stops for t in texts
        )
    return mask


def _report(on_finish, positions):
    """Map a batch row to the caller's prompt index for ``on_finish`` (None stays None)."""
    if on_finish is None:
        return None
    return lambda j, completion: on_finish(positions[j], completion)


@contextmanager
def _torch_threads(n: int | None):
    """Use ``n`` intra-op threads for the duration (restored after, so training elsewhere is unaffected)."""
    import torch

    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
