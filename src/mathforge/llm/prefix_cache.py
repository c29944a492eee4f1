"""Continue a prompt from the KV cache of the call that produced its beginning (in-process backend).

A tool-integrated sample's next prompt is its last prompt + the completion + the interpreter's output.
Re-encoding that whole transcript every round is the biggest cost of the loop on a small model: on the
toy model the second round's prefill (30 rows x 59 tokens) took 29 ms, as long as 25 decoding steps.
So the backend keeps, for every row of its last call, the batch's token tensor and cache and the columns
that hold the row's own tokens. A new prompt that starts with a kept row's text is tokenized in full as
usual; the longest common prefix of those ids with the row's ids is taken from the cache and only the
rest is encoded.

Columns that are not the row's (left padding, tokens generated after the row had stopped while others
ran on, the ids after the common prefix, the padding of the new block) are masked out; transformers
derives position ids from the mask, so the model sees exactly the ids and positions of a fresh encoding.
Only the last call's rows are kept: a prompt that continues nothing is encoded from scratch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class KeptBatch:
    """One generated batch: its full token tensor [B, L] and the cache of its first L - 1 columns."""

    seq: object  # torch.LongTensor
    cache: object  # transformers Cache (narrowed and extended in place: it serves one continuation)


@dataclass
class KeptRow:
    text: str  # prompt + completion text: a later prompt that starts with it continues this row
    ids: list[int]  # the row's own token ids, in order
    cols: list[int]  # the column of each id in ``batch.seq``
    batch: KeptBatch
    index: int  # the row's index in the batch


@dataclass
class Continuation:
    """Rows of one kept batch that continue, with their fresh token ids and how many of them are cached."""

    batch: KeptBatch
    rows: list[KeptRow]
    prompt_ids: list[list[int]]
    reuse: list[int]  # per row: leading ids taken from the cache
    positions: list[int]  # per row: index into the caller's prompt list


def common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def match(prompts: list[str], kept: list[KeptRow], encode) -> tuple[list[Continuation], list[int]]:
    """Split prompt positions into continuations of kept rows (grouped by batch) and fresh ones.

    ``encode(texts) -> list of ids`` is the tokenizer as a fresh call would apply it (special tokens
    included), called once for all the prompts that extend a kept row.
    """
    free = list(kept)
    pairs: list[tuple[int, KeptRow]] = []
    fresh: list[int] = []
    for pos, prompt in enumerate(prompts):
        row = next((r for r in free if prompt.startswith(r.text)), None)
        if row is None:
            fresh.append(pos)
        else:
            free.remove(row)
            pairs.append((pos, row))
    groups: dict[int, Continuation] = {}
    encoded = encode([prompts[pos] for pos, _ in pairs]) if pairs else []
    for (pos, row), ids in zip(pairs, encoded, strict=True):
        reuse = min(common_prefix(ids, row.ids), len(ids) - 1)  # at least one id must be fed
        if reuse < 1:
            fresh.append(pos)
            continue
        group = groups.setdefault(id(row.batch), Continuation(row.batch, [], [], [], []))
        group.rows.append(row)
        group.prompt_ids.append(ids)
        group.reuse.append(reuse)
        group.positions.append(pos)
    fresh.sort()
    for g in groups.values():  # rows in the order a fresh call would batch them (same sampling draws)
        order = sorted(range(len(g.rows)), key=lambda j: (len(prompts[g.positions[j]]), g.positions[j]))
        for name in ("rows", "prompt_ids", "reuse", "positions"):
            setattr(g, name, [getattr(g, name)[j] for j in order])
    return list(groups.values()), fresh


def build_inputs(group: Continuation, pad_id: int):
    """(input_ids, attention_mask, cache, columns of each row's ids) for continuing ``group``.

    The kept tensor is extended by a block as wide as the longest new part, each row's new ids
    right-aligned in it (so every row's next token is predicted from the last column).
    """
    import torch

    batch = group.batch
    device = batch.seq.device
    index = torch.tensor([r.index for r in group.rows], device=device)
    seq = batch.seq.index_select(0, index)
    width = seq.shape[1]
    new_parts = [ids[k:] for ids, k in zip(group.prompt_ids, group.reuse, strict=True)]
    block = max(len(p) for p in new_parts)
    suffix = torch.full((len(group.rows), block), pad_id, dtype=seq.dtype, device=device)
    mask = torch.zeros((len(group.rows), width + block), dtype=torch.long, device=device)
    columns = []
    for j, (row, part, k) in enumerate(zip(group.rows, new_parts, group.reuse, strict=True)):
        start = width + block - len(part)
        suffix[j, block - len(part) :] = torch.tensor(part, dtype=seq.dtype, device=device)
        cols = row.cols[:k] + list(range(start, width + block))
        mask[j, cols] = 1
        columns.append(cols)
    cache = batch.cache
    if index.numel() != batch.seq.shape[0] or not torch.equal(
        index, torch.arange(index.numel(), device=device)
    ):
        cache.batch_select_indices(index)
    return torch.cat([seq, suffix], dim=1), mask, cache, columns
