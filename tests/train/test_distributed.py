"""recipes/accelerate: every config is one accelerate accepts; the tiny model trains on 2 gloo CPU ranks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / "recipes" / "accelerate").glob("*.yaml"))


def test_the_documented_configs_are_shipped():
    names = {p.stem for p in CONFIGS}
    assert {"multi_cpu", "multi_gpu", "zero2", "zero3", "zero3_offload", "fsdp"} <= names
    readme = (REPO / "recipes" / "accelerate" / "README.md").read_text()
    for name in names:
        assert f"{name}.yaml" in readme, f"{name}.yaml is not documented"


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_is_accepted_by_accelerate_launch(path):
    """Parsed by accelerate's own loader (unknown keys and bad enums raise) and merged into launch args."""
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser

    config = load_config_from_file(str(path))
    parser = launch_command_parser()
    known = {action.dest for action in parser._actions}
    for section in (config.deepspeed_config, config.fsdp_config):
        unknown = [key for key in section if key not in known]
        assert not unknown, f"keys accelerate launch does not know: {unknown}"
    args, _, _ = _validate_launch_command(parser.parse_args(["--config_file", str(path), "train.py"]))
    raw = yaml.safe_load(path.read_text())
    assert args.num_processes == raw["num_processes"]
    if path.stem.startswith("zero"):
        assert args.use_deepspeed and args.zero_stage == raw["deepspeed_config"]["zero_stage"]
        offload = "offload" in path.stem
        assert (args.offload_param_device == "cpu") == offload and (
            args.offload_optimizer_device == "cpu"
        ) == offload
    if path.stem == "fsdp":
        assert args.use_fsdp and str(args.fsdp_version) == "2"
        assert args.fsdp_transformer_layer_cls_to_wrap == "LlamaDecoderLayer"  # the init-model architecture
    if path.stem == "multi_cpu":
        assert args.use_cpu and args.multi_gpu  # torchrun launcher, CPU ranks (see the file's comment)


def test_project_recipes_train_sections_parse():
    """Every `train:` step of the shipped pipeline recipes is a valid TrainRecipe (unknown keys rejected)."""
    from mathforge.train import load_recipe

    found = 0
    for path in sorted((REPO / "recipes").glob("*.yaml")):
        raw = yaml.safe_load(path.read_text())
        if raw.get("accelerate"):
            assert (REPO / raw["accelerate"]).exists(), f"{path.name}: {raw['accelerate']} is missing"
        trains = [step["train"] for step in raw.get("steps", []) if "train" in step]
        if "stages" in raw:  # a training recipe itself (mathforge train --config)
            trains.append(raw)
        for train in trains:
            stages = load_recipe(train).resolved_stages()
            assert stages and all(s.data for s in stages), path.name
            found += 1
    assert found >= 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_cpu_ranks_train_and_save_a_loadable_checkpoint(tmp_path, micro_base, tir_jsonl, make_stage):
    from transformers import AutoModelForCausalLM

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "output_dir": str(tmp_path / "run"),
                "base_model": str(micro_base),
                "stages": [make_stage(tir_jsonl, max_steps=3, batch_size=2)],
            }
        )
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(REPO / "recipes" / "accelerate" / "multi_cpu.yaml"),
        "--main_process_port",
        str(_free_port()),
        "-m",
        "mathforge.cli",
        "train",
        "--config",
        str(recipe),
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=400)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert "rank 0 of 2 finished" in log and "rank 1 of 2 finished" in log
    out = tmp_path / "run" / "sft"
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["global_step"] == 3
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.config.hidden_size == 32
