"""Prompts that suit a real chat model: the mode's system prompt, k worked examples from a train split,
the same system prompt at training time, and a stop string for base models in few-shot prompts."""

from __future__ import annotations

import json

import pytest

from mathforge.evaluate import EvaluateConfig, run
from mathforge.evaluate.prompting import exemplars, extra_stops
from mathforge.solution import SYSTEM_PROMPTS, build_prompt, system_for
from mathforge.train.data import to_examples


@pytest.fixture(scope="module")
def chat_tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    from mathforge.train import init_model

    folder = init_model(tmp_path_factory.mktemp("tok"), "tiny", texts=["What is 2 + 2?"] * 20, vocab_size=300)
    return AutoTokenizer.from_pretrained(folder)


def test_system_prompts_resolve_by_mode_and_only_for_chat():
    assert system_for("auto", "tir", "chat") == SYSTEM_PROMPTS["tir"] and "```output" in SYSTEM_PROMPTS["tir"]
    assert system_for("auto", "cot", "plain") is None  # base-model formats get none unless asked
    assert (
        system_for("none", "tir", "chat") is None and system_for("Be brief.", "cot", "plain") == "Be brief."
    )


def test_worked_examples_come_before_the_question(chat_tokenizer):
    shots = [("What is 1 + 1?", "\\boxed{2}"), ("What is 2 + 5?", "\\boxed{7}")]
    plain = build_prompt("What is 3 + 4?", "plain", shots=shots)
    assert plain == ("Question: What is 1 + 1?\nAnswer:\n\\boxed{2}\n\nQuestion: What is 2 + 5?\nAnswer:\n\\boxed{7}"
                     "\n\nQuestion: What is 3 + 4?\nAnswer:\n")  # fmt: skip
    chat = build_prompt("What is 3 + 4?", "chat", chat_tokenizer, system="SYS", shots=shots)
    assert (
        chat.index("SYS")
        < chat.index("What is 1 + 1?")
        < chat.index("\\boxed{7}")
        < chat.index("What is 3 + 4?")
    )


def test_training_prompts_carry_the_system_prompt_evaluation_uses(chat_tokenizer):
    from mathforge.rows import SolutionRow

    rows = [SolutionRow(question="q?", solution="```python\nprint(1)\n```\n```output\n1\n```\n\\boxed{1}"),
            SolutionRow(question="q?", solution="1 + 0 = 1. \\boxed{1}")]  # fmt: skip
    code, cot = to_examples(rows, "chat", chat_tokenizer)
    assert SYSTEM_PROMPTS["tir"] in code.prompt and SYSTEM_PROMPTS["cot"] in cot.prompt
    evaluated = build_prompt("q?", "chat", chat_tokenizer, system=system_for("auto", "tir", "chat"))
    assert code.prompt == evaluated  # the model is asked at evaluation exactly as it was taught


def test_few_shot_examples_from_a_file_never_from_the_evaluated_problems(
    tmp_path, arithmetic_backend, toy_problems
):
    shots = tmp_path / "shots.jsonl"
    rows = [
        {"question": f"Add {i} and {i}.", "solution": f"{i} + {i} = {2 * i}. \\boxed{{{2 * i}}}"}
        for i in range(5)
    ]
    rows.append(
        {"question": toy_problems[0].question, "solution": "\\boxed{5}"}
    )  # an evaluated problem: excluded
    shots.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = EvaluateConfig(out=str(tmp_path / "e"), mode="cot", few_shot=3, few_shot_file=str(shots), seed=1,
                         sandbox_workers=1, grade_workers=1)  # fmt: skip
    chosen = exemplars(cfg, exclude={p.question for p in toy_problems})
    assert len(chosen) == 3 and all(q.startswith("Add ") for q, _ in chosen)
    assert chosen == exemplars(cfg, exclude={p.question for p in toy_problems})  # seeded: the same every run
    assert extra_stops(cfg) == ("\n\nQuestion:",)
    run(cfg, backend=arithmetic_backend, problems=toy_problems[:1])
    (pred,) = [json.loads(x) for x in (tmp_path / "e" / "predictions.jsonl").read_text().splitlines()]
    assert pred["prompt"].count("Question: ") == 4 and pred["prompt"].endswith(
        f"{toy_problems[0].question}\nAnswer:\n"
    )
    _, params = arithmetic_backend.last_call
    assert "\n\nQuestion:" in params.stop


@pytest.mark.parametrize("mode", ["cot", "tir", "pot"])
def test_few_shot_examples_from_the_gsm8k_train_split(data_dir, mode):
    cfg = EvaluateConfig(mode=mode, few_shot=2, data_dir=str(data_dir))
    shots = exemplars(cfg, exclude=set())
    assert len(shots) == 2
    for _q, solution in shots:
        if mode == "cot":
            assert "\\boxed{" in solution and "<<" not in solution and "####" not in solution
        elif mode == "tir":
            assert "```python" in solution and "```output" in solution and "\\boxed{" in solution
        else:
            assert solution.startswith("```python") and "```output" not in solution
