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
        kwargs = dict(
            max_new_tokens=params.max_tokens, num_return_sequences=params.n, pad_token_id=tok.pad_token_id
        )
        if params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=0)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if params.stop:
            # transformers needs the tokenizer to match stop strings across token boundaries
            kwargs.update(stop_strings=list(params.stop), tokenizer=tok)
        out = self.model.generate(**enc, **kwargs)
        new = out[:, enc["input_ids"].shape[1] :].tolist()
        return [self._completion(ids, params) for ids in new]

    def _completion(self, ids: list[int], params: GenParams) -> Completion:
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
        return Completion(text, "length" if n >= params.max_tokens else "stop", n)


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
