"""Varlen attention for packed rows on any device: one causal SDPA call per sample.

Padding-free packing puts several samples in one row with ``position_ids`` restarting at 0. With stock
``sdpa`` the model then builds a block-diagonal mask over the whole row and computes the full L x L
attention, most of it masked away, which on a CPU eats the gain of dropping the padding. Flash-attention's
varlen kernel avoids that on GPUs; nothing does on CPUs, hence this small function. It reads the sample
boundaries (``cu_seq_lens_q``) that TRL's padding-free collator already passes to the model, and falls
back to stock ``sdpa`` whenever they are absent (padded batches, generation).
"""

from __future__ import annotations

PACKED_SDPA = "mathforge_packed_sdpa"


def packed_sdpa_forward(
    module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None, **kwargs
):
    import torch
    from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward

    cu = kwargs.get("cu_seq_lens_q")
    if cu is None or query.shape[0] != 1 or query.shape[2] != key.shape[2]:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )
    groups = getattr(module, "num_key_value_groups", 1)
    if groups > 1:
        key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    bounds = cu.tolist()
    parts = [
        torch.nn.functional.scaled_dot_product_attention(
            query[:, :, s:e],
            key[:, :, s:e],
            value[:, :, s:e],
            dropout_p=dropout,
            scale=scaling,
            is_causal=True,
        )
        for s, e in zip(bounds[:-1], bounds[1:], strict=True)
        if e > s
    ]
    return torch.cat(parts, dim=2).transpose(1, 2).contiguous(), None


def register_packed_sdpa() -> str:
    """Make ``attn_implementation="mathforge_packed_sdpa"`` available to transformers models (idempotent)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(PACKED_SDPA, packed_sdpa_forward)
    AttentionMaskInterface.register(PACKED_SDPA, sdpa_mask)  # fallback path gets the usual sdpa masks
    return PACKED_SDPA
