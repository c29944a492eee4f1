"""A tiny random Llama with a byte-level BPE tokenizer, saved to disk: enough to exercise the backends."""

from __future__ import annotations

import pytest

CORPUS = [
    "Question: What is 12 + 30?\nAnswer:\n```python\nprint(12 + 30)\n```\n```output\n42\n```\n\\boxed{42}",
    "The quick brown fox jumps over the lazy dog. 0123456789 + - * / = ( ) [ ] { }",
]


@pytest.fixture(scope="session")
def random_llama(tmp_path_factory):
    import torch
    from tokenizers import Tokenizer, decoders, models, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    # character BPE over printable ASCII (no byte-level pieces: every decoded text is clean, so any
    # substring of an output can serve as a stop string)
    raw = Tokenizer(models.BPE(unk_token="<unk>"))
    raw.decoder = decoders.Fuse()
    alphabet = [chr(c) for c in range(32, 127)] + ["\n"]
    trainer = trainers.BpeTrainer(
        vocab_size=200,
        special_tokens=["<s>", "</s>", "<pad>", "<unk>"],
        initial_alphabet=alphabet,
        limit_alphabet=len(alphabet),
    )
    raw.train_from_iterator(CORPUS * 4, trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=raw, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    path = tmp_path_factory.mktemp("random_llama")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def sandbox():
    from mathforge.sandbox import Sandbox

    with Sandbox(workers=1) as sb:
        yield sb
