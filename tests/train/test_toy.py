"""The shared `tiny_tir_model` fixture: the toy model must do what the inference tests rely on."""

from __future__ import annotations

import json

import pytest

from mathforge.solution import get_format, output_spans, parse
from mathforge.solution.format import Code, Output
from mathforge.train.toy import toy_tir_examples


def test_toy_examples_are_tora_code_nested():
    rows = toy_tir_examples(30, seed=0)
    assert len({r["question"] for r in rows}) == 30
    for row in rows:
        segments = parse(row["solution"], "tora")
        code = next(s for s in segments if isinstance(s, Code))
        out = next(s for s in segments if isinstance(s, Output))
        assert str(eval(code.code.removeprefix("print(").removesuffix(")"))) == row["answer"] == out.output
        assert row["solution"].endswith(f"\\boxed{{{row['answer']}}}.")
        assert row["prompt"] == f"Question: {row['question']}\nAnswer:\n"
        assert len(output_spans(row["solution"], "tora")) == 1
    assert toy_tir_examples(5, seed=1) != toy_tir_examples(5, seed=0)


def _greedy(model, tokenizer, text: str, max_new_tokens: int, stop: list[str] | None = None) -> str:
    import torch

    ids = tokenizer(text, return_tensors="pt").input_ids
    with torch.no_grad():
        out = model.generate(
            ids,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            stop_strings=stop,
            tokenizer=tokenizer,
            pad_token_id=tokenizer.pad_token_id,
        )
    return tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)


@pytest.mark.slow
def test_tiny_tir_model_writes_the_code_and_stops_at_output(tiny_tir_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_tir_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_tir_model).eval()
    rows = [json.loads(line) for line in (tiny_tir_model / "toy_examples.jsonl").read_text().splitlines()]
    stop = get_format("tora").stop
    assert len(rows) == 30
    for row in rows:
        text = _greedy(model, tokenizer, row["prompt"], 60, [stop])
        cut = row["completion"].index(stop) + len(stop)
        assert text == row["completion"][:cut], row["question"]


@pytest.mark.slow
def test_tiny_tir_model_boxes_the_interpreter_output(tiny_tir_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_tir_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_tir_model).eval()
    rows = [json.loads(line) for line in (tiny_tir_model / "toy_examples.jsonl").read_text().splitlines()]
    boxed = 0
    for row in rows:
        # the transcript up to and including the output block, as the inference loop builds it
        upto = row["completion"][: output_spans(row["completion"], "tora")[0][1]]
        text = _greedy(model, tokenizer, row["prompt"] + upto, 30)
        assert text.startswith("The answer is \\boxed{")
        boxed += text == f"The answer is \\boxed{{{row['answer']}}}."
    # copying the 4-5 digit output into the box is learnt later than the code; most rows must have it
    assert boxed >= 24, f"{boxed}/30 answers copied"
