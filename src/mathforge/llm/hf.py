"""In-process generation with transformers: batched, left-padded, stop strings, CPU or GPU."""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

from mathforge.llm.base import Backend, Completion, GenParams, cut_at_stop


class HFBackend(Backend):
    """Any ``from_pretrained`` path (or an already loaded ``model`` + ``tokenizer``).

    Prompts are sorted by length and generated ``batch_size`` sequences at a time with left padding, so
    one long prompt does not pad a whole batch of short ones. Stop strings use transformers' own
    ``stop_strings`` criterion, which stops each sequence of a batch on its own.
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
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.batch_size = max(1, int(batch_size))
        self.path = str(path) if path is not None else None
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

    def generate(self, prompts: list[str], params: GenParams) -> list[list[Completion]]:
        import torch

        results: list[list[Completion]] = [[] for _ in prompts]
        if not prompts:
            return results
        # sort by length so that a batch holds prompts of similar size (less padding, less waste)
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        per_batch = max(1, self.batch_size // params.n)
        with self._lock, torch.inference_mode(), _torch_threads(self.num_threads):
            if params.seed is not None:
                torch.manual_seed(params.seed)
            for start in range(0, len(order), per_batch):
                idx = order[start : start + per_batch]
                outs = self._generate_batch([prompts[i] for i in idx], params)
                for j, i in enumerate(idx):
                    results[i] = outs[j * params.n : (j + 1) * params.n]
        return results

    def _generate_batch(self, prompts: list[str], params: GenParams) -> list[Completion]:
        tok = self.tokenizer
        enc = tok(prompts, return_tensors="pt", padding=True).to(self.device)
        # never run past the model's context: a long multi-round transcript ends as "length", not a crash
        budget = params.max_tokens
        if self._max_positions:
            budget = min(budget, self._max_positions - enc["input_ids"].shape[1])
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
            mask = self._ending_masks.get(params.stop)
            if mask is None:
                mask = self._ending_masks[params.stop] = ending_mask(tok, params.stop)
            kwargs["stopping_criteria"] = [_TailStop(tok, params.stop, enc["input_ids"].shape[1], mask)]
        out = self.model.generate(**enc, **kwargs)
        new = out[:, enc["input_ids"].shape[1] :].tolist()
        return [self._completion(ids, params, budget) for ids in new]

    def _completion(self, ids: list[int], params: GenParams, budget: int) -> Completion:
        # generation ends at EOS; rows stopped early (stop string, or another row still running) are
        # padded with pad_token_id, which is often the EOS id itself
        end_ids = self._eos_ids | {self.tokenizer.pad_token_id}
        n = next((k for k, t in enumerate(ids) if t in end_ids), len(ids))
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
    since every token decodes to at least one character).
    """

    def __new__(cls, tokenizer, stops, prompt_len: int, ending_mask):
        import torch
        from transformers import StoppingCriteria

        window = max(len(s) for s in stops) + 2

        class TailStop(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
                rows = ending_mask.to(input_ids.device)[input_ids[:, -1]].nonzero().flatten().tolist()
                if rows:
                    lo = max(prompt_len, input_ids.shape[1] - window)
                    tails = tokenizer.batch_decode(input_ids[rows, lo:].tolist(), skip_special_tokens=True)
                    for r, t in zip(rows, tails, strict=True):
                        done[r] = any(s in t for s in stops)
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
