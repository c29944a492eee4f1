"""`mathforge run RECIPE --dry-run`: shipped recipes validate; bad keys, missing files, broken chains fail."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mathforge.cli import main
from mathforge.io import DataError
from mathforge.recipes import plan

REPO = Path(__file__).resolve().parents[1]

GOOD = """
name: t
steps:
  - train:
      output_dir: out/run
      base_model: base
      stages:
        - {name: cot, data: [data/cot.jsonl], max_steps: 2}
        - {name: code, data: [data/code.jsonl], mask_outputs: true}
  - evaluate: {model: "@code", dataset: data/test.jsonl, mode: tir, max_rounds: 4, max_tokens: 1024}
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A folder holding the files GOOD reads; the dry run resolves paths against the cwd."""
    (tmp_path / "base").mkdir()
    (tmp_path / "data").mkdir()
    for name in ("cot.jsonl", "code.jsonl", "test.jsonl"):
        (tmp_path / "data" / name).write_text('{"question": "q", "solution": "s", "gold": "1"}\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(folder: Path, text: str) -> Path:
    path = folder / "recipe.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_good_recipe_resolves_stage_references(workdir):
    p = plan(write(workdir, GOOD))
    assert [s.name for s in p.steps] == ["train", "evaluate"]
    from mathforge.evaluate import EvaluateConfig
    from mathforge.train import TrainConfig

    train, evaluate = (s.config for s in p.steps)
    assert isinstance(train, TrainConfig) and isinstance(evaluate, EvaluateConfig)  # configs, not argv
    # "@code" became the checkpoint folder of the code stage
    assert evaluate.model == str(Path("out/run") / "code") and evaluate.max_tokens == 1024
    assert "data/cot.jsonl" in p.reads and "base" in p.reads


def test_cli_dry_run_exit_codes(workdir, capsys):
    good = write(workdir, GOOD)
    assert main(["run", str(good), "--dry-run"]) == 0
    assert "dry run: recipe is valid" in capsys.readouterr().out
    bad = write(workdir, GOOD.replace("max_rounds: 4", "max_roundz: 4"))
    assert main(["run", str(bad), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "steps[2].evaluate.max_roundz" in err and "unknown setting" in err and str(bad) in err


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("name: t", "name: t\nlearning_rate: 1"), "unknown top-level key"),
        (("max_steps: 2", "max_stepz: 2"), "max_stepz"),  # a stage of the train config
        (("max_rounds: 4", "max_roundz: 4"), "max_roundz: unknown setting"),
        (("mode: tir", "mode: magic"), "mode: Input should be"),  # a bad value, not just a bad key
        (("data/code.jsonl", "data/missing.jsonl"), "does not exist and no earlier step writes it"),
        (('"@code"', '"@stage3"'), "broken stage chain"),
        (("- evaluate:", "- frobnicate:"), "unknown step 'frobnicate'"),
        (("dataset: data/test.jsonl", "dataset: nosuchset"), "unknown dataset 'nosuchset'"),
    ],
)
def test_bad_recipes_fail_with_a_clear_message(workdir, edit, message):
    old, new = edit
    assert old in GOOD
    path = write(workdir, GOOD.replace(old, new))
    with pytest.raises(DataError, match=message) as info:
        plan(path)
    assert info.value.path == str(path)  # the message names the recipe file


def test_reference_to_a_later_stage_is_a_broken_chain(workdir):
    text = """
    steps:
      - evaluate: {model: "@code", dataset: data/test.jsonl}
      - train: {output_dir: out/run, base_model: base, stages: [{name: code, data: [data/code.jsonl]}]}
    """
    with pytest.raises(DataError, match=r"broken stage chain.*known stages: none yet"):
        plan(write(workdir, text))


def test_file_written_by_an_earlier_step_counts_as_present(workdir):
    text = """
    steps:
      - demo: {out: gen, prepare: true}
      - train: {output_dir: out/run, base_model: gen/base, stages: [{name: cot, data: [gen/data/cot.jsonl]}]}
    """
    p = plan(write(workdir, text))
    assert [s.name for s in p.steps] == ["demo", "train"]
    assert "gen" in p.writes


def test_hub_ids_are_remote_not_missing(workdir):
    text = """
    steps:
      - evaluate: {model: llm-agents/tora-code-7b-v1.0, dataset: gsm8k, mode: tir}
    """
    p = plan(write(workdir, text))
    assert p.remote == ["llm-agents/tora-code-7b-v1.0"]


def test_two_word_stages_are_written_as_on_the_command_line(workdir):
    text = """
    steps:
      - augment perturb: {dataset: data/test.jsonl, n: 2, out: gen/p.jsonl}
      - augment   code: {dataset: gen/p.jsonl, out: gen/c.jsonl, sandbox_timeout: 3}
    """
    p = plan(write(workdir, text))
    assert [s.name for s in p.steps] == ["augment perturb", "augment code"]
    assert p.steps[1].config.sandbox_timeout == 3.0 and "gen/c.jsonl" in p.writes


def test_a_yaml_alias_bomb_is_refused_at_once(workdir):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(20)
    )
    path = workdir / "bomb.yaml"
    path.write_text(bomb + "steps: [{evaluate: {dataset: gsm8k}}]\n")
    with pytest.raises(DataError, match="aliases"):
        plan(path)


def run_recipes() -> list[Path]:
    return [p for p in sorted((REPO / "recipes").glob("*.yaml")) if "\nsteps:" in p.read_text()]


@pytest.mark.parametrize("recipe", run_recipes(), ids=lambda p: p.name)
def test_shipped_recipes_validate(recipe, monkeypatch):
    monkeypatch.chdir(REPO)
    p = plan(recipe, root=REPO)
    assert p.steps


def test_shipped_paper_recipes_have_the_papers_settings(monkeypatch):
    monkeypatch.chdir(REPO)
    p = plan(REPO / "recipes/mumath-code-7b.yaml", root=REPO)
    [recipe] = [s.config for s in p.steps if s.name == "train"]
    s1, s2 = recipe.resolved_stages()
    for s in (s1, s2):
        assert (s.lr, s.epochs, s.max_length, s.batch_size * s.grad_accum * 8) == (2e-5, 3, 2048, 128)
    assert s2.mask_outputs and s2.solution_format == "tora"
    assert p.accelerate == "recipes/accelerate/zero3.yaml"
    tora = plan(REPO / "recipes/tora-eval.yaml", root=REPO)
    for step in tora.steps:
        assert (step.config.max_rounds, step.config.max_tokens, step.config.prompt_format) == (
            4,
            1024,
            "tora",
        )


def test_a_bare_training_recipe_is_one_train_step(workdir):
    text = """
    output_dir: out/run
    base_model: base
    stages: [{name: cot, data: [data/cot.jsonl]}]
    """
    p = plan(write(workdir, text))
    assert [s.name for s in p.steps] == ["train"]
