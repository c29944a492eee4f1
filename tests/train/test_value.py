"""The outcome value model: it learns to tell correct from wrong trajectories, its scores survive a
save/load exactly, and its loss never reads prompt or interpreter-output tokens."""

from __future__ import annotations

import json
import random

import pytest

from mathforge.evaluate.rerank import auroc
from mathforge.train import train
from mathforge.train.masking import IGNORE, encode_example
from mathforge.train.value import ValueModel, score_solutions, scored_positions

pytestmark = pytest.mark.slow

WRONG_CODE = ("Let's compute it.\n```python\nprint(x)\n```\n```output\nNameError: name 'x' is not defined\n```\n"
              "The answer is \\boxed{{{}}}.")  # fmt: skip
WRONG_GUESS = "Let's compute it.\nI am not sure how to do this. The answer is \\boxed{{{}}}."


def value_rows(model_dir):
    """Each toy example's right solution, and a wrong one of the two kinds a small generator writes."""
    examples = [json.loads(x) for x in (model_dir / "toy_examples.jsonl").read_text().splitlines() if x]
    rows = []
    for i, r in enumerate(examples):
        rows.append(
            {"id": f"{r['id']}/ok", "prompt": r["prompt"], "solution": r["completion"], "correct": True}
        )
        wrong = (WRONG_CODE if i % 2 else WRONG_GUESS).format(int(r["answer"]) + 7)
        rows.append({"id": f"{r['id']}/bad", "prompt": r["prompt"], "solution": wrong, "correct": False})
    return rows


@pytest.fixture(scope="module")
def value_model(tiny_tir_model, tmp_path_factory):
    work = tmp_path_factory.mktemp("ovm")
    rows = value_rows(tiny_tir_model)
    (work / "values.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:40]))
    stage = {"name": "ovm", "type": "ovm", "data": [str(work / "values.jsonl")], "max_steps": 40, "lr": 1e-3,
             "batch_size": 8, "packing": False, "save_steps": 0, "value": {"lm_weight": 0.5}}  # fmt: skip
    [folder] = train({"output_dir": str(work / "run"), "base_model": str(tiny_tir_model), "stages": [stage]})
    return folder, rows[40:]


def test_the_value_head_separates_correct_from_wrong(value_model):
    folder, held_out = value_model
    model, tokenizer = ValueModel.load(folder)
    scores = score_solutions(model, tokenizer, [(r["prompt"], r["solution"], "tora") for r in held_out])
    area = auroc([s["score"] for s in scores], [r["correct"] for r in held_out])
    # measured 1.0 on this machine (40 steps); training on another CPU takes another path, hence the margin
    assert area >= 0.8, area
    summary = json.loads((folder / "train_summary.json").read_text())
    assert summary["correct"] == summary["incorrect"] == 20 and summary["loss_curve"]


def test_scores_survive_saving_and_loading_exactly(value_model, tmp_path):
    folder, held_out = value_model
    items = [(r["prompt"], r["solution"], "tora") for r in held_out[:4]]
    model, tokenizer = ValueModel.load(folder)
    first = score_solutions(model, tokenizer, items)
    model.save(tmp_path / "copy", tokenizer)
    again = score_solutions(*ValueModel.load(tmp_path / "copy"), items)
    assert [s["values"] for s in first] == [s["values"] for s in again]


def test_value_targets_exclude_prompt_and_interpreter_output_on_a_real_tokenizer(smollm2):
    """Token-exact, on SmolLM2's byte-level BPE: no scored token overlaps the prompt or an output block."""
    from transformers import AutoTokenizer

    from mathforge.solution import output_spans

    tok = AutoTokenizer.from_pretrained(smollm2)
    prompt = "<|im_start|>user\nWhat is 317 * 24 + 5?<|im_end|>\n<|im_start|>assistant\n"
    solution = ("Let's compute.\n```python\nprint(317 * 24 + 5)\n```\n```output\n7613\n```\n"
                "So the answer is \\boxed{7613}.")  # fmt: skip
    enc = encode_example(tok, prompt, solution)
    n_prompt = len(tok(prompt)["input_ids"])
    newlines = {i for p, i in tok.get_vocab().items() if "\n" in tok.convert_tokens_to_string([p])}
    for targets in ("token", "step", "last"):
        mask = scored_positions(enc.labels, enc.input_ids, targets, newlines)
        assert not any(mask[:n_prompt]) and any(mask)
        assert all(enc.labels[i] != IGNORE for i, m in enumerate(mask) if m)  # only trained tokens are scored
    # and what is trained excludes exactly the interpreter's text
    trained = tok.decode([t for t in enc.labels[n_prompt:] if t != IGNORE])
    ((start, end),) = output_spans(solution)
    assert solution[start:end] not in trained and "```output\n" in trained and "\\boxed{7613}" in trained
    last = scored_positions(enc.labels, enc.input_ids, "last", newlines)
    assert sum(last) == 1 and last.index(True) == max(i for i, lab in enumerate(enc.labels) if lab != IGNORE)
    random.seed(0)
