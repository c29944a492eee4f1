"""`mathforge run RECIPE [--dry-run]`: run a YAML pipeline recipe, or check it without running anything.

A recipe is data, not code: a list of steps, each ``{STAGE: settings}``, where STAGE is a registered stage
(``mathforge --help`` lists them; two-word stages are written as on the command line) and the settings
are that stage's config fields, exactly as its ``--help`` names them with ``_`` for ``-``::

    name: mumath-code-7b
    accelerate: recipes/accelerate/zero3.yaml   # optional: train steps run under `accelerate launch`
    steps:
      - augment code: {out: data/code.jsonl}
      - train:                                   # a training recipe (mathforge.train.TrainConfig)
          output_dir: runs/mumath-code
          base_model: codellama/CodeLlama-7b-hf
          stages: [{name: code, data: [data/code.jsonl]}]
      - evaluate: {model: "@code", dataset: gsm8k}  # "@STAGE": the checkpoint of an earlier train stage

Every step becomes its stage's config object (the same validation as the CLI: an unknown key or a bad
value names the recipe file, the step and the key), and runs through ``stage.run(cfg)``. The dry run
checks, without downloading or training:

* keys and values: by building each step's config;
* files: what a config declares as an input (``io="in"``) must exist or be written by an earlier step
  (a declared output); values shaped like hub ids (``org/name``) are reported as remote and not fetched;
  a dataset must be a file or a registered dataset name;
* stage chaining: each ``@STAGE`` must name a stage of an earlier train step.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mathforge.config import Config, setting, validate
from mathforge.io import DataError, read_yaml
from mathforge.registry import Stage, stages

# recipe top-level keys; `paper` and `description` are documentation (reported numbers, links)
TOP_KEYS = {"name", "description", "paper", "accelerate", "steps"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_FILE_EXT = (".jsonl", ".json", ".yaml", ".yml", ".txt", ".parquet", ".csv", ".safetensors", ".py")
STAGE_REF = "@"


class RunConfig(Config):
    """Run a recipe's steps in order, or only check them."""

    recipe: str = setting(help="path to a recipe YAML (recipes/*.yaml)", io="in", positional=True)
    dry_run: bool = setting(
        False, "validate keys, values, files and stage chaining; download and train nothing"
    )
    workdir: str = setting("runs/recipes", "where the per-step training configs for accelerate launches go",
                           io="out", kind="dir")  # fmt: skip


@dataclass
class Step:
    index: int
    stage: Stage
    config: Config

    @property
    def name(self) -> str:
        return self.stage.name


@dataclass
class Plan:
    """What a recipe would do: the validated steps, what they read, write and fetch."""

    name: str
    steps: list[Step] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    remote: list[str] = field(default_factory=list)
    accelerate: str | None = None


def plan(path: str | Path, root: str | Path = ".") -> Plan:
    """Validate the recipe at ``path``; raise :class:`DataError` naming the step and key at fault."""
    raw = _load(path)
    root = Path(root)
    result = Plan(name=str(raw.get("name") or Path(path).stem))
    if raw.get("accelerate"):
        acc = str(raw["accelerate"])
        if not (root / acc).exists():
            raise DataError(f"accelerate config {acc!r} does not exist", path, field="accelerate")
        result.accelerate = acc
        result.reads.append(acc)
    checkpoints: dict[str, str] = {}  # train stage name -> its checkpoint folder
    for i, step in enumerate(raw["steps"], start=1):
        where = f"steps[{i}]"
        if not isinstance(step, dict) or len(step) != 1:
            raise DataError("each step is a one-key mapping {STAGE: settings}", path, field=where)
        [(name, options)] = step.items()
        stage = _stage(str(name), path, where)
        where = f"{where}.{stage.name}"
        options = options or {}
        if not isinstance(options, dict):
            raise DataError(f"the settings of {stage.name!r} must be a mapping", path, field=where)
        cfg = validate(stage.config, _resolve_refs(options, checkpoints, path, where), path=path, where=where)
        for key, value, kind in cfg.paths("in"):
            _check_input(value, kind, root, result, path, f"{where}.{key}")
        result.writes += [value for _, value, _ in cfg.paths("out")]
        if stage.name == "train":
            checkpoints.update(cfg.stage_dirs())
        result.steps.append(Step(i, stage, cfg))
    return result


def _load(path) -> dict:
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise DataError("a recipe must be a mapping with a 'steps' list", path)
    if (
        "stages" in raw and "steps" not in raw
    ):  # a bare training recipe (mathforge train --config) is one step
        raw = {"name": Path(path).stem, "steps": [{"train": raw}]}
    unknown = set(raw) - TOP_KEYS
    if unknown:
        raise DataError(f"unknown top-level key(s) {sorted(unknown)}; allowed: {sorted(TOP_KEYS)}", path,
                        field=sorted(unknown)[0])  # fmt: skip
    if not isinstance(raw.get("steps"), list) or not raw["steps"]:
        raise DataError("'steps' must be a non-empty list", path, field="steps")
    return raw


def _stage(name: str, path, where: str) -> Stage:
    known = stages()
    key = " ".join(name.split())
    if key not in known or key == "run":
        allowed = ", ".join(n for n in known if n != "run")
        raise DataError(f"unknown step {name!r}; steps are one of: {allowed}", path, field=where)
    return known[key]


def _resolve_refs(options, checkpoints: dict[str, str], path, where):
    """Replace ``@STAGE`` by the checkpoint folder of that earlier train stage (or fail: broken chain)."""

    def fix(value):
        if isinstance(value, str) and value.startswith(STAGE_REF):
            name = value[len(STAGE_REF) :]
            if name not in checkpoints:
                known = ", ".join(sorted(checkpoints)) or "none yet"
                raise DataError(
                    f"broken stage chain: {value!r} names no stage of an earlier train step (known stages: {known})",
                    path,
                    field=where,
                )
            return checkpoints[name]
        if isinstance(value, list):
            return [fix(v) for v in value]
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        return value

    return fix(options)


def _check_input(value: str, kind: str, root: Path, result: Plan, path, where: str) -> None:
    if any(value == p or value.startswith(p.rstrip("/") + "/") for p in result.writes):
        return  # written by an earlier step
    if (root / value).exists():
        result.reads.append(value)
        return
    looks_like_path = (
        value.startswith(("./", "../", "/", "~")) or value.endswith(_FILE_EXT) or value.count("/") >= 2
    )
    if kind == "model" and _HUB_ID.match(value) and not looks_like_path:
        result.remote.append(value)  # a hub model id: fetched at run time, never in a dry run
        return
    if kind == "dataset" and not looks_like_path:
        from mathforge.data.loaders import DATASETS, canonical_name

        if canonical_name(value) is not None:
            return  # a registered dataset: resolved in the data folder at run time
        if not _HUB_ID.match(value):
            raise DataError(f"unknown dataset {value!r}: not a file and not one of {', '.join(DATASETS)}",
                            path, field=where)  # fmt: skip
        result.remote.append(value)
        return
    raise DataError(f"input {value!r} does not exist and no earlier step writes it", path, field=where)


def describe(p: Plan) -> str:
    lines = [f"recipe {p.name}: {len(p.steps)} step(s)"]
    for step in p.steps:
        cfg = step.config
        if step.name == "train":
            stages_text = ", ".join(_stage_line(s) for s in cfg.resolved_stages())
            lines.append(f"  {step.index}. train {cfg.base_model} -> {cfg.output_dir}: {stages_text}")
        else:
            given = cfg.model_dump(exclude_defaults=True)
            lines.append(f"  {step.index}. {step.name} " + " ".join(f"{k}={v}" for k, v in given.items()))
    if p.accelerate:
        lines.append(f"  train steps launch with: accelerate launch --config_file {p.accelerate}")
    if p.remote:
        lines.append(f"  remote (not downloaded by a dry run): {', '.join(sorted(set(p.remote)))}")
    return "\n".join(lines)


def _stage_line(s) -> str:
    length = f"{s.max_steps} steps" if s.max_steps > 0 else f"{s.epochs:g} epochs"
    return (
        f"{s.name} ({len(s.data)} file(s), lr {s.lr:g}, {length}, batch {s.batch_size}x{s.grad_accum}, "
        f"max_length {s.max_length}, mask_outputs={s.mask_outputs})"
    )


def execute(p: Plan, workdir: Path) -> int:
    """Run the steps in order (train in-process, or via accelerate when the recipe names a config)."""
    from mathforge.cli import run_stage

    for step in p.steps:
        print(f"[{step.index}/{len(p.steps)}] {step.name}", flush=True)
        if step.name == "train" and p.accelerate:
            rc = _launch_train(step, p, workdir)
        else:
            rc = run_stage(step.stage, step.config)
        if rc:
            print(f"step {step.index} ({step.name}) failed with exit code {rc}")
            return rc
    return 0


def _launch_train(step: Step, p: Plan, workdir: Path) -> int:
    import yaml

    cfg = workdir / f"{p.name}-step{step.index}-train.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(yaml.safe_dump(step.config.model_dump(), sort_keys=False))
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", p.accelerate,
           "-m", "mathforge.cli", "train", "--config", str(cfg)]  # fmt: skip
    return subprocess.call(cmd)


def run(cfg: RunConfig) -> int:
    p = plan(cfg.recipe)
    print(describe(p))
    if cfg.dry_run:
        print("dry run: recipe is valid")
        return 0
    return execute(p, Path(cfg.workdir))


def exit_code(cfg: RunConfig, rc: int) -> int:
    return rc


STAGES = [
    Stage(
        "run",
        RunConfig,
        run="mathforge.recipes:run",
        report="mathforge.recipes:exit_code",
        help="run a YAML pipeline recipe (recipes/*.yaml), or check it with --dry-run",
        description=__doc__.split("\n\n")[0]
        + "\nRecipes shipped: recipes/demo-tiny.yaml, recipes/mumath-code-7b.yaml, recipes/mugglemath-7b.yaml, "
        "recipes/tora-eval.yaml.",
    )
]
