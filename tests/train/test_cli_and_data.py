"""CLI verbs, recipe parsing and bad input."""

from __future__ import annotations

import json

import pytest
import yaml

from mathforge.cli import main
from mathforge.io import DataError
from mathforge.train import SIZES, load_recipe
from mathforge.train.data import load_pairs


def test_question_rows_are_rendered_with_the_prompt_format(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text(
        json.dumps({"question": " What is 2+2? ", "solution": "4"})
        + "\n"
        + json.dumps({"prompt": "P:", "completion": "C"})
        + "\n"
    )
    assert load_pairs([path], "plain") == [("Question: What is 2+2?\nAnswer:\n", "4"), ("P:", "C")]
    assert load_pairs([path], "tora")[0][0] == "<|user|>\nWhat is 2+2?\n<|assistant|>\n"


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"prompt": "p"}, "solution"),  # `completion` is another name for `solution`
        ({"question": "q", "solution": 3}, "solution"),
        ({"text": "t"}, "solution"),
        ({"prompt": "p", "completion": " "}, "completion"),  # the name the file used
        ({"question": "q", "solution": "s", "format": "latex"}, "format"),
    ],
)
def test_bad_rows_name_file_line_and_field(tmp_path, row, field):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"prompt": "ok", "completion": "ok"}) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(DataError) as err:
        load_pairs([path])
    assert err.value.line == 2 and err.value.field == field and err.value.path == str(path)


def test_recipe_defaults_stage_names_and_errors(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "output_dir": "o",
                "base_model": "m",
                "defaults": {"lr": 1e-3, "max_steps": 5},
                "stages": [{"data": "a.jsonl"}, {"data": ["b.jsonl"], "lr": 5e-4}],
            }
        )
    )
    stages = load_recipe(path).resolved_stages()
    assert [s.name for s in stages] == ["sft", "sft-2"]
    assert (
        [s.lr for s in stages] == [1e-3, 5e-4] and stages[1].max_steps == 5 and stages[0].data == ["a.jsonl"]
    )
    path.write_text(
        yaml.safe_dump({"output_dir": "o", "base_model": "m", "stages": [{"data": "a", "lrr": 1}]})
    )
    with pytest.raises(DataError, match="lrr"):  # every stage is validated when the recipe is read
        load_recipe(path)
    path.write_text(yaml.safe_dump({"output_dir": "o", "base_model": "m", "stages": []}))
    with pytest.raises(DataError, match="at least one stage"):
        load_recipe(path)


def test_init_model_cli_writes_a_loadable_model(tmp_path, capsys):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    data = tmp_path / "d.jsonl"
    data.write_text(
        "".join(
            json.dumps({"question": f"What is {i} + {i}?", "solution": f"{2 * i}"}) + "\n" for i in range(50)
        )
    )
    out = tmp_path / "m"
    assert (
        main(["init-model", "--out", str(out), "--size", "tiny", "--data", str(data), "--vocab-size", "300"])
        == 0
    )
    info = json.loads((out / "init_info.json").read_text())
    assert 1_000_000 < info["parameters"] < 5_000_000
    assert (
        259 < info["vocab_size"] <= 300
    )  # 256 bytes + 3 specials + merges (BPE stops when none are frequent)
    assert (out / "model.safetensors").exists()
    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.config.hidden_size == SIZES["tiny"]["hidden_size"] and model.config.vocab_size == len(tok)
    assert tok.chat_template and tok.pad_token and tok.eos_token and tok.bos_token
    chat = tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert chat == "<|user|>\nhi\n<|assistant|>\n"
    assert tok("What is 12?")["input_ids"][0] == tok.bos_token_id
    assert (
        tok.decode(tok("Ünïcode 😀 ```output")["input_ids"], skip_special_tokens=True)
        == "Ünïcode 😀 ```output"
    )


def test_small_size_is_about_100m_parameters():
    """Counted from the config on the meta device (nothing allocated)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(**SIZES["small"], tie_word_embeddings=True)
    with torch.device("meta"):
        model = LlamaForCausalLM(cfg)
    assert 50e6 < sum(p.numel() for p in model.parameters()) < 150e6


def test_train_dry_run_prints_the_plan(tmp_path, capsys, tir_jsonl):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "output_dir": str(tmp_path / "run"),
                "base_model": "base",
                "stages": [
                    {"name": "cot", "data": str(tir_jsonl)},
                    {"name": "code", "data": str(tir_jsonl), "lora": {"r": 8}},
                ],
            }
        )
    )
    assert main(["train", "--config", str(recipe), "--dry-run", "--max-steps", "7"]) == 0
    out = capsys.readouterr().out
    assert f"stage cot: base -> {tmp_path / 'run' / 'cot'}  rows=16" in out
    assert f"stage code: {tmp_path / 'run' / 'cot'} -> " in out and "max_steps=7" in out and "lora=yes" in out
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_tiny_two_stage_recipe_runs_from_the_cli(tmp_path, monkeypatch):
    """recipes/tiny-two-stage.yaml as documented: toy inputs, then `mathforge train --config` (2 steps/stage)."""
    from pathlib import Path

    from mathforge.train.toy import write_toy_recipe_inputs

    recipe = Path(__file__).resolve().parents[2] / "recipes" / "tiny-two-stage.yaml"
    monkeypatch.chdir(tmp_path)
    write_toy_recipe_inputs("runs/tiny", n=20)
    assert main(["train", "--config", str(recipe), "--max-steps", "2"]) == 0
    for name, base in (("cot", "runs/tiny/base"), ("code", "runs/tiny/train/cot")):
        summary = json.loads((tmp_path / "runs/tiny/train" / name / "train_summary.json").read_text())
        assert summary["global_step"] == 2 and summary["base_model"] == base
