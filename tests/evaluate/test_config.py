"""Every evaluate setting is declared once (EvaluateConfig) and reachable from the CLI and from a recipe."""

from __future__ import annotations

import textwrap
import typing

import pytest

from mathforge.cli import build_parser, config_from_args
from mathforge.config import choices_of, list_item_type, scalar_type, unwrap_optional
from mathforge.evaluate import EvaluateConfig
from mathforge.recipes import plan


def _other_value(name: str, field):
    """A valid value of the setting that is not its default (so reaching the config shows)."""
    default = field.get_default(call_default_factory=True)
    choices = choices_of(field.annotation)
    if choices:
        return next(c for c in choices if c != default)
    inner, _ = unwrap_optional(field.annotation)
    if name == "shard":
        return "1/3"
    if list_item_type(field.annotation) is str:
        return [f"http://value-of-{name}"]
    if inner is bool:
        return not default
    item = list_item_type(field.annotation)
    if item is not None:
        return [0.3] if item is float else [3] if item is int else [f"value-of-{name}"]
    kind = scalar_type(field.annotation)
    if kind is int:
        return (default or 0) + 3
    if kind is float:
        return (default or 0.0) + 0.25
    return f"value-of-{name}"


SETTINGS = {name: _other_value(name, f) for name, f in EvaluateConfig.model_fields.items()}


def test_the_config_declares_what_the_old_keyword_api_had_and_more():
    # api, top_p and solution_format (fmt) could not be reached from the CLI or a recipe before
    wanted = {"model", "base_url", "api", "dataset", "split", "limit", "mode", "n", "temperature", "top_p",
              "max_rounds", "prompt_format", "solution_format", "out", "data_dir", "batch_size", "concurrency",
              "max_tokens", "seed", "sandbox_workers", "grade_workers", "max_retries", "request_timeout"}  # fmt: skip
    assert wanted <= set(EvaluateConfig.model_fields)
    assert all(f.description for f in EvaluateConfig.model_fields.values()), "every setting has its help"


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_every_setting_is_reachable_from_the_cli(name):
    value = SETTINGS[name]
    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        argv = ["evaluate", flag if value else f"--no-{name.replace('_', '-')}"]
    else:
        argv = ["evaluate", flag, *map(str, value if isinstance(value, list) else [value])]
    cfg = config_from_args(EvaluateConfig, build_parser().parse_args(argv))
    assert getattr(cfg, name) == value


def test_every_setting_is_reachable_from_a_recipe(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shots.jsonl").write_text('{"question": "q", "solution": "s"}\n')
    settings = dict(SETTINGS, model="some-org/some-model", dataset="gsm8k", data_dir=str(tmp_path), value_model="org/vm",
                    few_shot_file=str(tmp_path / "shots.jsonl"))  # fmt: skip
    for name in ("base_url", "base_urls", "base_urls_file"):
        settings.pop(name)  # with a server the model is a name; keep the local form checked too
    settings.pop("suite")  # a suite replaces --dataset (they exclude each other): checked on its own below
    for name in (
        "sandbox_urls_file",
        "sandbox_token_file",
        "reference",
    ):  # inputs a recipe checks: make them exist
        (tmp_path / name).write_text("http://127.0.0.1:1\n")
        settings[name] = str(tmp_path / name)
    lines = "\n".join(f"      {k}: {v!r}" if isinstance(v, str) else f"      {k}: {str(v).lower() if isinstance(v, bool) else v}"
                      for k, v in settings.items())  # fmt: skip
    (tmp_path / "r.yaml").write_text("steps:\n  - evaluate:\n" + lines + "\n")
    (step,) = plan(tmp_path / "r.yaml").steps
    for name, value in settings.items():
        assert getattr(step.config, name) == value, name
    (tmp_path / "s.yaml").write_text("steps:\n  - evaluate:\n      model: org/m\n      suite: tora-ood\n")
    (step,) = plan(tmp_path / "s.yaml").steps
    assert step.config.suite == "tora-ood" and step.config.dataset is None


def test_a_recipe_with_a_misspelt_key_names_file_step_and_key(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(
        textwrap.dedent("""
        steps:
          - evaluate: {model: m/x, dataset: gsm8k}
          - evaluate: {model: m/x, dataset: gsm8k, max_roundz: 4}
    """)
    )
    from mathforge.io import DataError

    with pytest.raises(DataError) as err:
        plan(path)
    assert err.value.path == str(path) and err.value.field == "steps[2].evaluate.max_roundz"
    assert "unknown setting" in str(err.value)


def test_bad_values_are_refused_with_the_key():
    from mathforge.config import validate
    from mathforge.io import DataError

    for values, key in [({"mode": "magic"}, "mode"), ({"n": 0}, "n"), ({"max_rounds": "lots"}, "max_rounds")]:
        with pytest.raises(DataError) as err:
            validate(EvaluateConfig, values)
        assert err.value.field == key


def test_resume_keys_are_declared_on_the_settings():
    assert set(EvaluateConfig.resume_keys()) == {"model", "api", "dataset", "mode", "max_rounds", "prompt_format",
                                                 "solution_format", "temperature", "top_p", "max_tokens", "seed",
                                                 "system_prompt", "few_shot", "few_shot_dataset", "few_shot_file", "suite"}  # fmt: skip
    assert typing.get_origin(EvaluateConfig.model_fields["mode"].annotation) is typing.Literal
