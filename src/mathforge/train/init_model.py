"""Offline stand-ins for a pretrained base: a byte-level BPE tokenizer plus a randomly initialised Llama.

Sizes (parameter counts include the tied embedding; they grow a little with ``vocab_size``):

* ``tiny``  -- hidden 192, 4 layers, 6 heads, MLP 512, vocab 1024: ~1.9M parameters. Trains on a CPU in minutes.
* ``small`` -- hidden 768, 12 layers, 12 heads, MLP 2048, vocab 16384: ~98M parameters. The GPU path
  (MFU measurements, realistic throughput); far too slow to train on a CPU.

Why these choices: on a CPU a small vocabulary and short sequences make copying (operands into code)
emerge in hundreds rather than thousands of steps, and splitting every digit into its own token keeps
numbers aligned between question, code and output.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

BOS, EOS, PAD = "<s>", "</s>", "<pad>"

# role tags as in ToRA's prompt; the end of an assistant turn is the eos token (the model learns to stop)
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>{{ '\\n' }}{{ message['content'] }}"
    "{% if message['role'] == 'assistant' %}{{ eos_token }}{% endif %}{{ '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{{ '\\n' }}{% endif %}"
)

SIZES: dict[str, dict] = {
    "tiny": dict(
        hidden_size=192,
        num_hidden_layers=4,
        num_attention_heads=6,
        num_key_value_heads=6,
        intermediate_size=512,
        max_position_embeddings=1024,
        vocab_size=1024,
    ),
    "small": dict(
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        num_key_value_heads=12,
        intermediate_size=2048,
        max_position_embeddings=2048,
        vocab_size=16384,
    ),
}

# used when no texts are given: enough to learn merges for the solution formats and arithmetic
_FALLBACK_TEXTS = [
    "Question: What is 12 * 34 + 5?\nAnswer:\nLet's compute it.\n```python\nprint(12 * 34 + 5)\n```\n"
    "```output\n413\n```\nThe answer is \\boxed{413}.",
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
    "How many clips did Natalia sell altogether in April and May? 48 / 2 = 24. 48 + 24 = 72. #### 72",
    "def solution():\n    total = sum(range(10))\n    return total\n\nresult = solution()\nprint(result)",
    "Let $x$ be the number. Then $\\frac{x}{2} + 3 = 7$, so $x = 8$. The answer is $\\boxed{8}$.",
]


def build_tokenizer(texts: Iterable[str], vocab_size: int = 1024, min_frequency: int = 2):
    """Train a byte-level BPE tokenizer (digits split one per token) and wrap it for transformers.

    The wrapped tokenizer adds ``<s>`` in front of every encoded text (like Llama's), pads with ``<pad>``,
    ends sequences with ``</s>`` and carries :data:`CHAT_TEMPLATE`.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[PAD, BOS, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte encodable: no unknown tokens
        show_progress=False,
    )
    tok.train_from_iterator(list(texts) or _FALLBACK_TEXTS, trainer=trainer)
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)]
    )
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        padding_side="right",
        model_max_length=SIZES["small"]["max_position_embeddings"],
    )
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def init_model(
    out_dir: str | Path,
    size: str = "tiny",
    texts: Iterable[str] | None = None,
    vocab_size: int | None = None,
    seed: int = 0,
    **config_overrides,
) -> Path:
    """Write a tokenizer and a randomly initialised ``LlamaForCausalLM`` (safetensors) to ``out_dir``.

    ``config_overrides`` replace entries of the size preset (e.g. ``hidden_size=64`` for a test model).
    Returns ``out_dir``, loadable with ``AutoModelForCausalLM`` / ``AutoTokenizer``.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    if size not in SIZES:
        raise ValueError(f"unknown model size {size!r}; choose from {sorted(SIZES)}")
    preset = {**SIZES[size], **config_overrides}
    tokenizer = build_tokenizer(texts or [], vocab_size=vocab_size or preset.pop("vocab_size"))
    preset.pop("vocab_size", None)
    preset.setdefault("max_position_embeddings", SIZES[size]["max_position_embeddings"])
    tokenizer.model_max_length = preset["max_position_embeddings"]
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        **preset,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    n_params = sum(p.numel() for p in model.parameters())
    (out / "init_info.json").write_text(
        json.dumps(
            {
                "size": size,
                "parameters": n_params,
                "vocab_size": len(tokenizer),
                "seed": seed,
                "config": preset,
            },
            indent=2,
        )
    )
    return out
