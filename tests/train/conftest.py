"""Fixtures for the training tests: a micro model (tens of thousands of parameters) and toy data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mathforge.train.toy import toy_tir_examples

MICRO = dict(
    hidden_size=32,
    num_hidden_layers=1,
    num_attention_heads=2,
    num_key_value_heads=2,
    intermediate_size=64,
    max_position_embeddings=256,
)


@pytest.fixture(scope="session")
def toy_rows() -> list[dict]:
    return toy_tir_examples(16, seed=3)


@pytest.fixture(scope="session")
def micro_base(tmp_path_factory, toy_rows) -> Path:
    """A random micro Llama whose tokenizer was trained on the toy texts."""
    from mathforge.train import init_model

    texts = [r["prompt"] + r["completion"] for r in toy_rows]
    return init_model(tmp_path_factory.mktemp("micro") / "base", "tiny", texts=texts, vocab_size=300, **MICRO)


@pytest.fixture(scope="session")
def tir_jsonl(tmp_path_factory, toy_rows) -> Path:
    """Code-nested rows as prompt/completion."""
    path = tmp_path_factory.mktemp("data") / "tir.jsonl"
    path.write_text(
        "".join(json.dumps({"prompt": r["prompt"], "completion": r["completion"]}) + "\n" for r in toy_rows)
    )
    return path


@pytest.fixture(scope="session")
def cot_jsonl(tmp_path_factory, toy_rows) -> Path:
    """Chain-of-thought rows as question/solution (rendered through build_prompt)."""
    path = tmp_path_factory.mktemp("data") / "cot.jsonl"
    rows = [
        {
            "question": r["question"],
            "solution": f"We multiply, then add. The answer is \\boxed{{{r['answer']}}}.",
        }
        for r in toy_rows
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def stage(data: Path, **overrides) -> dict:
    """A few-step stage on the micro model: constant high lr so that a handful of steps moves the loss."""
    base = dict(
        name="sft",
        data=[str(data)],
        max_steps=4,
        lr=3e-3,
        lr_scheduler="constant",
        warmup_ratio=0.0,
        batch_size=4,
        max_length=128,
        save_steps=0,
        logging_steps=1,
        seed=0,
    )
    return {**base, **overrides}


@pytest.fixture
def make_stage():
    return stage


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Micro models gain nothing from 2 threads, and on the shared CPU threads spinning against each other
    made steps several times slower (measured); restored afterwards for other packages' tests."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
