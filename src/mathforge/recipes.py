"""`mathforge run RECIPE [--dry-run]`: run a YAML pipeline recipe, or check it without running anything.

A recipe is data, not code::

    name: mumath-code-7b
    accelerate: recipes/accelerate/zero3.yaml   # optional: train steps run under `accelerate launch`
    steps:
      - synthesize: {input: data/aug.jsonl, out: data/code.jsonl}   # any verb: options as in --help
      - train:                                   # a training recipe (mathforge.train.TrainRecipe)
          output_dir: runs/mumath-code
          base_model: codellama/CodeLlama-7b-hf
          stages: [{name: code, data: [data/code.jsonl]}]
      - evaluate: {model: "@code", data: gsm8k}  # "@STAGE": the checkpoint of an earlier train stage

The dry run validates without downloading or training:

* keys: a train step through the train package's own recipe model (pydantic, unknown keys rejected); any
  other step by parsing its options with that verb's own argument parser (unknown option, bad value);
* files: every local input (data files, local models, configs) must exist or be written by an earlier step;
  values shaped like hub ids (``org/name``) are reported as remote and not fetched;
* stage chaining: each ``@STAGE`` must name a stage of an earlier train step.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from mathforge.io import DataError

# recipe top-level keys; `paper` and `description` are documentation (reported numbers, links)
TOP_KEYS = {"name", "description", "paper", "accelerate", "steps"}
# option names whose values a step writes / reads (CLI verbs use the same names)
OUTPUT_KEYS = {"out", "output", "out_dir", "output_dir"}
INPUT_KEYS = {
    "input",
    "inputs",
    "data",
    "model",
    "base_model",
    "config",
    "questions",
    "problems",
    "train",
    "test",
    "teacher_prompt",
    "prompt_file",
}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_FILE_EXT = (".jsonl", ".json", ".yaml", ".yml", ".txt", ".parquet", ".csv", ".safetensors")
STAGE_REF = "@"


@dataclass
class Plan:
    """What a recipe would do: the validated steps, what they read, write and fetch."""

    name: str
    steps: list[tuple[str, object]] = field(default_factory=list)  # (verb, TrainRecipe | argv list)
    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    remote: list[str] = field(default_factory=list)
    accelerate: str | None = None


def load(path: str | Path) -> dict:
    import yaml

    path = Path(path)
    if not path.exists():
        raise DataError("recipe not found", path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataError(f"invalid YAML: {exc}", path) from None
    if not isinstance(raw, dict):
        raise DataError("a recipe must be a mapping with a 'steps' list", path)
    return raw


def plan(path: str | Path, root: str | Path = ".") -> Plan:
    """Validate the recipe at ``path``; raise :class:`DataError` naming the step and field at fault."""
    raw = load(path)
    root = Path(root)
    if (
        "stages" in raw and "steps" not in raw
    ):  # a bare training recipe (mathforge train --config) is one step
        raw = {"name": Path(path).stem, "steps": [{"train": raw}]}
    unknown = set(raw) - TOP_KEYS
    if unknown:
        raise DataError(
            f"unknown top-level key(s) {sorted(unknown)}; allowed: {sorted(TOP_KEYS)}",
            path,
            field=sorted(unknown)[0],
        )
    steps = raw.get("steps")
    if not isinstance(steps, list) or not steps:
        raise DataError("'steps' must be a non-empty list", path, field="steps")
    result = Plan(name=str(raw.get("name") or Path(path).stem))
    if raw.get("accelerate"):
        acc = str(raw["accelerate"])
        if not (root / acc).exists():
            raise DataError(f"accelerate config {acc!r} does not exist", path, field="accelerate")
        result.accelerate = acc
        result.reads.append(acc)
    stages: dict[str, str] = {}  # stage name -> checkpoint folder
    produced: list[str] = []
    for i, step in enumerate(steps, start=1):
        where = f"steps[{i}]"
        if not isinstance(step, dict) or len(step) != 1:
            raise DataError("each step is a one-key mapping {VERB: options}", path, field=where)
        [(verb, options)] = step.items()
        options = options or {}
        if not isinstance(options, dict):
            raise DataError(f"options of {verb!r} must be a mapping", path, field=where)
        options = _resolve_refs(options, stages, path, f"{where}.{verb}")
        if verb == "train":
            recipe = _check_train(options, path, f"{where}.train")
            for name, folder in _stage_dirs(recipe).items():
                stages[name] = folder
                produced.append(folder)
            inputs = [recipe.base_model] + [d for s in recipe.resolved_stages() for d in s.data]
            result.steps.append(("train", recipe))
            result.writes += [recipe.output_dir]
        else:
            argv = _check_cli(verb, options, path, f"{where}.{verb}")
            inputs = [str(v) for k, v in _flat(options) if k in INPUT_KEYS]
            outs = [str(v) for k, v in _flat(options) if k in OUTPUT_KEYS]
            result.steps.append((verb, argv))
            result.writes += outs
            produced += outs
        for value in inputs:
            _check_input(value, root, produced, result, path, where)
    return result


def _flat(options: dict):
    for key, value in options.items():
        for v in value if isinstance(value, list) else [value]:
            yield key, v


def _resolve_refs(options, stages: dict[str, str], path, where):
    """Replace ``@STAGE`` by the checkpoint folder of that earlier train stage (or fail: broken chain)."""

    def fix(value):
        if isinstance(value, str) and value.startswith(STAGE_REF):
            name = value[len(STAGE_REF) :]
            if name not in stages:
                known = ", ".join(sorted(stages)) or "none yet"
                raise DataError(
                    f"broken stage chain: {value!r} names no stage of an earlier train step "
                    f"(known stages: {known})",
                    path,
                    field=where,
                )
            return stages[name]
        if isinstance(value, list):
            return [fix(v) for v in value]
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        return value

    return fix(options)


def _check_train(options: dict, path, where):
    from mathforge.train import load_recipe

    try:
        recipe = load_recipe(options)
        recipe.resolved_stages()  # validates every stage (defaults merged), unknown keys included
    except Exception as exc:  # pydantic.ValidationError -> name the recipe file and step
        raise DataError(f"invalid train step: {_short(exc)}", path, field=where) from None
    return recipe


def _stage_dirs(recipe) -> dict[str, str]:
    return {s.name: str(Path(recipe.output_dir) / s.name) for s in recipe.resolved_stages()}


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:600]


def _check_cli(verb: str, options: dict, path, where) -> list[str]:
    """Turn options into argv and parse them with the verb's own parser (its validation, not a copy)."""
    import importlib

    from mathforge.cli import VERBS

    if verb not in VERBS or verb == "run":
        allowed = sorted(set(VERBS) - {"run"})
        raise DataError(f"unknown step {verb!r}; steps are train or one of {allowed}", path, field=where)
    try:
        module = importlib.import_module(VERBS[verb])
    except ModuleNotFoundError as exc:
        raise DataError(
            f"verb {verb!r} is not available in this install ({exc})", path, field=where
        ) from None
    argv = options_to_argv(options)
    parser = argparse.ArgumentParser(prog="mathforge", exit_on_error=False)
    sub = parser.add_subparsers(dest="verb")
    module.add_parser(sub)
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            _parse_strict(parser, [verb, *argv])
    except (argparse.ArgumentError, _ParseError) as exc:
        raise DataError(f"bad options for {verb!r}: {exc}", path, field=where) from None
    except SystemExit:  # a nested sub-command's parser reported the error and exited
        message = stderr.getvalue().strip().splitlines()[-1:] or ["invalid options"]
        raise DataError(f"bad options for {verb!r}: {message[0]}", path, field=where) from None
    return argv


class _ParseError(Exception):
    pass


def _parse_strict(parser: argparse.ArgumentParser, argv: list[str]):
    """argparse exits on errors in sub-parsers even with exit_on_error=False: turn that into an exception."""

    def fail(message):
        raise _ParseError(message)

    for action in parser._subparsers._group_actions if parser._subparsers else []:
        for sp in getattr(action, "choices", {}).values():
            sp.error = fail
            sp.exit_on_error = False
    parser.error = fail
    return parser.parse_args(argv)


def options_to_argv(options: dict) -> list[str]:
    """``{data: x, n_samples: 4, greedy: true, args: [a, b]}`` -> ``a b --data x --n-samples 4 --greedy``."""
    argv = [str(a) for a in options.get("args", [])]
    for key, value in options.items():
        if key == "args" or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif isinstance(value, list):
            argv += [flag, *[str(v) for v in value]]
        else:
            argv += [flag, str(value)]
    return argv


def _check_input(value: str, root: Path, produced: list[str], result: Plan, path, where) -> None:
    value = str(value)
    if any(value == p or value.startswith(p.rstrip("/") + "/") for p in produced):
        return  # written by an earlier step
    local = root / value
    if local.exists():
        result.reads.append(value)
        return
    looks_like_file = (
        value.startswith(("./", "../", "/")) or value.endswith(_FILE_EXT) or value.count("/") >= 2
    )
    if _HUB_ID.match(value) and not looks_like_file:
        result.remote.append(value)  # a hub model id: fetched at run time, never in a dry run
        return
    if looks_like_file:
        raise DataError(f"input {value!r} does not exist and no earlier step writes it", path, field=where)
    # a bare name (a dataset name such as gsm8k, a model alias): the verb resolves it at run time


def _stage_line(s) -> str:
    length = f"{s.max_steps} steps" if s.max_steps > 0 else f"{s.epochs:g} epochs"
    return (
        f"{s.name} ({len(s.data)} file(s), lr {s.lr:g}, {length}, batch {s.batch_size}x{s.grad_accum}, "
        f"max_length {s.max_length}, mask_outputs={s.mask_outputs})"
    )


def describe(p: Plan) -> str:
    lines = [f"recipe {p.name}: {len(p.steps)} step(s)"]
    for i, (verb, spec) in enumerate(p.steps, start=1):
        if verb == "train":
            stages = ", ".join(_stage_line(s) for s in spec.resolved_stages())
            lines.append(f"  {i}. train {spec.base_model} -> {spec.output_dir}: {stages}")
        else:
            lines.append(f"  {i}. mathforge {verb} {shlex.join(spec)}")
    if p.accelerate:
        lines.append(f"  train steps launch with: accelerate launch --config_file {p.accelerate}")
    if p.remote:
        lines.append(f"  remote models (not downloaded by a dry run): {', '.join(sorted(set(p.remote)))}")
    return "\n".join(lines)


def run(p: Plan, workdir: Path) -> int:
    """Execute the steps in order (train in-process, or via accelerate when the recipe names a config)."""
    import subprocess
    import sys

    import yaml

    from mathforge.cli import main as cli_main

    for i, (verb, spec) in enumerate(p.steps, start=1):
        print(f"[{i}/{len(p.steps)}] {verb}", flush=True)
        if verb != "train":
            rc = cli_main([verb, *spec])
        elif p.accelerate:
            cfg = workdir / f"{p.name}-step{i}-train.yaml"
            cfg.parent.mkdir(parents=True, exist_ok=True)
            cfg.write_text(yaml.safe_dump(spec.model_dump(), sort_keys=False))
            cmd = [
                sys.executable,
                "-m",
                "accelerate.commands.launch",
                "--config_file",
                p.accelerate,
                "-m",
                "mathforge.cli",
                "train",
                "--config",
                str(cfg),
            ]
            rc = subprocess.call(cmd)
        else:
            from mathforge.train import train

            train(spec)
            rc = 0
        if rc:
            print(f"step {i} ({verb}) failed with exit code {rc}")
            return rc
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "run",
        help="run a YAML pipeline recipe (recipes/*.yaml), or check it with --dry-run",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Recipes shipped: recipes/demo-tiny.yaml, recipes/mumath-code-7b.yaml, "
        "recipes/mugglemath-7b.yaml, recipes/tora-eval.yaml.",
    )
    p.add_argument("recipe", help="path to a recipe YAML")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="validate keys, files and stage chaining; download and train nothing",
    )
    p.add_argument("--workdir", default="runs/recipes", help="where generated per-step configs go")
    p.set_defaults(func=_main)


def _main(args) -> int:
    try:
        p = plan(args.recipe)
    except DataError as exc:
        print(f"recipe invalid: {exc}")
        return 2
    print(describe(p))
    if args.dry_run:
        print("dry run: recipe is valid")
        return 0
    return run(p, Path(args.workdir))
