"""The import graph has no backward arrow, and every verb runs through its config and run(cfg).

The table below is the contract (docs/ARCHITECTURE.md draws it): each unit (a package or a top-level
module) may import only the units its row names. Imports inside functions count too (a lazy import is
still an arrow). ``recipes`` and ``cli`` are the two shims on top; ``recipes`` runs a step as the CLI does.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "mathforge"

#: every unit of mathforge in dependency order: a unit may import only units listed before it, and only
#: those its row names (services never import stages; a stage never imports a later stage)
ORDER = ["io", "balance", "config", "rows", "shard", "stage_output", "registry", "solution", "sandbox", "llm",
         "answer", "data", "infer", "augment", "synthesize", "train", "view", "evaluate", "merge", "ovm",
         "selftrain", "study", "cluster", "demo",
         "recipes", "cli"]  # fmt: skip
BASE = {"io", "config", "rows", "registry"}
ALLOWED = {
    "io": set(),
    "balance": {"io"},  # spreading requests over several servers (model servers, sandbox services)
    "config": {"io"},
    "rows": {"io"},
    "shard": {"io", "config"},  # --shard I/N: which items, where a shard writes, its manifest
    "stage_output": {"io", "config", "rows"},
    "registry": {"config"},
    # services
    "solution": {"io"},
    "sandbox": {"io", "config", "registry", "balance"},
    "llm": {"io", "config", "registry", "balance"},
    "answer": {"io", "config", "solution"},
    # stages, in pipeline order (infer is the tool-integrated loop that synthesize and evaluate drive)
    "data": BASE | {"solution"},
    "infer": BASE | {"solution", "sandbox", "llm", "answer"},
    "augment": BASE | {"shard", "stage_output", "solution", "sandbox", "llm", "answer", "data"},
    "synthesize": BASE | {"shard", "stage_output", "solution", "sandbox", "llm", "answer", "data", "infer"},
    # train checks a model by running it (the toy fixture trains until it solves its examples)
    "train": BASE | {"solution", "sandbox", "llm", "answer", "infer"},
    # the viewer reads rows and run folders only (evaluate and demo call it to write report.html)
    "view": BASE | {"solution"},
    # evaluate draws worked examples from a train split the way augment makes training rows
    "evaluate": BASE
    | {"shard", "solution", "sandbox", "llm", "answer", "data", "infer", "augment", "train", "view"},
    # merge joins the shards of a stage's outputs; evaluate's merged rows get evaluate's metrics and report
    "merge": BASE | {"shard", "stage_output", "answer", "evaluate"},
    # the value model's data is graded samples (evaluate), deduplicated like synthesized solutions
    "ovm": BASE
    | {
        "shard",
        "stage_output",
        "solution",
        "sandbox",
        "llm",
        "answer",
        "data",
        "infer",
        "synthesize",
        "train",
        "evaluate",
    },
    # a round sampled in shards is merged (merge) before it is verified
    "selftrain": BASE
    | {
        "shard",
        "solution",
        "sandbox",
        "llm",
        "answer",
        "data",
        "infer",
        "synthesize",
        "train",
        "evaluate",
        "merge",
    },
    # an experiment made of stages: it trains and evaluates models on subsets of augmented data
    "study": BASE | {"solution", "sandbox", "llm", "answer", "data", "infer", "train", "evaluate"},
    "cluster": {"io", "config", "registry"},  # renders job scripts; imports no stage
    "demo": set(ORDER[: ORDER.index("demo")]),
    "recipes": {"io", "config", "registry", "data", "cli"},
    "cli": {"io", "config", "registry"},
}


def _unit(module: str) -> str | None:
    """``mathforge.evaluate.runner`` -> ``evaluate``; None outside mathforge."""
    parts = module.split(".")
    if parts[0] != "mathforge" or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {u for m in found if (u := _unit(m)) is not None}


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        unit = rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.name != "__init__.py" else None
        if unit and unit != "__main__":
            yield unit, path


@pytest.mark.parametrize(("unit", "path"), list(_modules()), ids=lambda x: str(x).split("mathforge/")[-1])
def test_no_backward_import(unit, path):
    bad = _imports(path) - ALLOWED[unit] - {unit}
    assert not bad, f"{path.relative_to(SRC)} ({unit}) imports {sorted(bad)}: an arrow pointing back up"


def test_every_unit_has_a_row_and_the_table_points_only_down():
    assert {u for u, _ in _modules()} <= set(ALLOWED) == set(ORDER)
    for unit, deps in ALLOWED.items():
        below = set(ORDER[: ORDER.index(unit)]) | ({"cli"} if unit == "recipes" else set())
        assert deps <= below, f"{unit} may import {sorted(deps - below)}, which is not below it"
    services = {"solution", "sandbox", "llm", "answer", "io", "balance", "config", "rows", "shard",
                "stage_output", "registry"}  # fmt: skip
    stages = {"data", "infer", "augment", "synthesize", "train", "view", "evaluate", "merge", "ovm", "selftrain",
              "study", "demo"}  # fmt: skip
    assert all(not (ALLOWED[s] & stages) for s in services), "services never import stages"


def test_every_verb_runs_through_a_config_and_run_cfg():
    from mathforge.config import Config
    from mathforge.registry import stages

    found = stages()
    assert {"data show", "augment code", "augment audit", "augment perturb", "augment teacher", "synthesize",
            "init-model", "train", "evaluate", "grade", "sandbox doctor", "run", "demo", "view"} <= set(found)  # fmt: skip
    for stage in found.values():
        assert issubclass(stage.config, Config), stage.name
        assert callable(stage.entry()), stage.name
        assert all(f.description for f in stage.config.model_fields.values()), (
            f"{stage.name}: a setting has no help"
        )


def test_no_argparse_outside_the_cli():
    users = [p for _, p in _modules() if "import argparse" in p.read_text() and p.name != "cli.py"]
    assert users == [], "verbs get their flags from their config (mathforge.cli), not their own parsers"
