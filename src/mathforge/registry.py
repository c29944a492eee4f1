"""The stage registry: every verb of ``mathforge``, its config and its library entry ``run(cfg)``.

Each stage package owns its entries in a light ``stage.py`` module (it imports the stage's config, never
torch): ``STAGES = [Stage(...)]``. The CLI (``mathforge.cli``) and the recipe runner (``mathforge.recipes``)
are thin shims over this registry: they build a config and call ``stage.run(cfg)``; neither knows any
stage's settings.

A stage's name is its command words: ``"evaluate"``, ``"augment code"``. In a recipe the same words are the
step's key (``- augment code: {out: data/code.jsonl}``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mathforge.config import Config

#: modules whose ``STAGES`` lists make up the CLI, in the pipeline's order (as ``mathforge --help`` shows)
STAGE_MODULES = (
    "mathforge.data.stage",
    "mathforge.llm.stage",
    "mathforge.augment.stage",
    "mathforge.synthesize.stage",
    "mathforge.train.stage",
    "mathforge.evaluate.stage",
    "mathforge.view.stage",
    "mathforge.merge.stage",
    "mathforge.ovm.stage",
    "mathforge.selftrain.stage",
    "mathforge.study.stage",
    "mathforge.cluster.stage",
    "mathforge.sandbox.stage",
    "mathforge.recipes",
    "mathforge.demo.stage",
)
#: one line of help for verbs that only group sub-commands (``augment code|audit|...``)
GROUPS = {
    "data": "look at the datasets as mathforge loads them",
    "models": "bring a model in: a GGUF file or package -> an HF folder",
    "augment": "make training data: GSM8K chains -> code, label audit, numeric perturbation, teacher questions",
    "sandbox": "the isolated Python executor: check its protections, run code, serve it over HTTP",
    "ovm": "MARIO's outcome value model: value data from a generator's samples, reranking with it",
    "study": "experiments made of several stages: MuggleMath's scaling and transfer study",
    "cluster": "job scripts for a cluster: model servers, sandbox servers, sharded clients, the merge",
}


@dataclass(frozen=True)
class Stage:
    """One verb. ``run`` is ``"module:function"`` (imported when the verb runs, so ``--help`` stays light).

    ``report(cfg, result) -> exit code`` prints the console summary after ``run``; without it the exit
    code is 0. ``run(cfg)`` itself prints nothing but progress: a library caller gets the result object.
    """

    name: str
    config: type[Config]
    run: str
    help: str
    description: str = ""
    report: str | None = None

    def entry(self) -> Callable[[Config], Any]:
        return _resolve(self.run)

    def reporter(self) -> Callable[[Config, Any], int] | None:
        return _resolve(self.report) if self.report else None

    def __call__(self, cfg: Config) -> Any:
        if not isinstance(cfg, self.config):
            raise TypeError(f"stage {self.name!r} takes a {self.config.__name__}, got {type(cfg).__name__}")
        return self.entry()(cfg)


def _resolve(spec: str):
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


_STAGES: dict[str, Stage] | None = None


def stages() -> dict[str, Stage]:
    """Every registered stage by name, in pipeline order."""
    global _STAGES
    if _STAGES is None:
        found: dict[str, Stage] = {}
        for module in STAGE_MODULES:
            for stage in importlib.import_module(module).STAGES:
                if stage.name in found:
                    raise RuntimeError(f"stage {stage.name!r} is registered twice")
                found[stage.name] = stage
        _STAGES = found
    return _STAGES


def get(name: str) -> Stage:
    """The stage called ``name`` (``"augment code"``); KeyError with the known names otherwise."""
    known = stages()
    key = " ".join(name.split())
    if key not in known:
        raise KeyError(f"unknown stage {name!r}; stages are: {', '.join(known)}")
    return known[key]
