"""Tokenize (prompt, completion) pairs into ``input_ids`` + ``labels`` with the loss masked where it must be.

Masked (label -100):
* every prompt token (and the ``<s>`` the tokenizer puts in front);
* for code-nested solutions, every token that overlaps a span the *interpreter* wrote
  (:func:`mathforge.solution.output_spans`: the output text plus the closing fence). The opening
  ```` ```output```` fence stays trained: it is the stop string that hands control to the interpreter.

Spans are located with character offsets from the fast tokenizer's ``offset_mapping`` over the completion
tokenized once; prefixes are never re-tokenized (re-tokenizing a prefix can merge differently at the cut,
which is how MuMath-Code's masking ends up off by one). A token that straddles the edge of an output span
is masked (it contains interpreter text the model cannot predict).

The prompt and the completion are tokenized separately and concatenated: that is exactly how inference
sees them (the prompt is encoded alone, then the model emits completion tokens), so no merge crosses the
prompt/completion boundary at training time that could not happen at inference time.
"""

from __future__ import annotations

from dataclasses import dataclass

from mathforge.solution import output_spans

IGNORE = -100


@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]
    truncated: bool = False

    def as_row(self) -> dict:
        return {"input_ids": self.input_ids, "labels": self.labels}


def completion_label_mask(
    offsets: list[tuple[int, int]], spans: list[tuple[int, int]], text_len: int
) -> list[bool]:
    """For each token (by its char offsets), True if it is trained, False if it overlaps an output span."""
    masked = bytearray(text_len + 1)
    for start, end in spans:
        masked[start:end] = b"\x01" * (end - start)
    keep = []
    for start, end in offsets:
        if end <= start:  # zero-width (special) token: trained unless it sits inside a span
            keep.append(not masked[min(start, text_len)])
        else:
            keep.append(not any(masked[start:end]))
    return keep


def encode_example(
    tokenizer,
    prompt: str,
    completion: str,
    *,
    solution_format: str = "tora",
    mask_outputs: bool = True,
    max_length: int | None = None,
    add_eos: bool = True,
) -> Encoded:
    """``[<s>] + prompt + completion + [</s>]`` with prompt and interpreter outputs masked from the loss."""
    prompt_ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
    enc = tokenizer(completion, add_special_tokens=False, return_offsets_mapping=True)
    spans = output_spans(completion, solution_format) if mask_outputs else []
    keep = completion_label_mask(enc["offset_mapping"], spans, len(completion))
    comp_ids = list(enc["input_ids"])
    comp_labels = [tid if k else IGNORE for tid, k in zip(comp_ids, keep, strict=True)]
    if add_eos and tokenizer.eos_token_id is not None:
        comp_ids.append(tokenizer.eos_token_id)
        comp_labels.append(tokenizer.eos_token_id)
    input_ids = list(prompt_ids) + comp_ids
    labels = [IGNORE] * len(prompt_ids) + comp_labels
    truncated = max_length is not None and len(input_ids) > max_length
    if truncated:  # keep the start: the prompt must stay whole for the completion to make sense
        input_ids, labels = input_ids[:max_length], labels[:max_length]
    return Encoded(input_ids, labels, truncated)
