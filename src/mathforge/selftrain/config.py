"""The settings of ``mathforge self-train``."""

from __future__ import annotations

from typing import Literal

from mathforge.answer.config import GraderConfig
from mathforge.config import redefault, setting
from mathforge.data.config import ProblemsConfig
from mathforge.infer.config import LoopConfig
from mathforge.llm.config import BackendConfig, SamplingConfig
from mathforge.sandbox.config import SandboxConfig
from mathforge.shard import ShardConfig


class SelfTrainConfig(ProblemsConfig, BackendConfig, SamplingConfig, LoopConfig, SandboxConfig, GraderConfig,
                      ShardConfig):  # fmt: skip
    """Rounds of: sample the uncovered train problems, keep the verified solutions, retrain, evaluate.

    ``--shard I/N`` shards a round's sampling (the costly step) only: a shard samples its part of the first
    unfinished round's problems into ``round-R/samples/shard-I-of-N/`` and stops; the run without ``--shard``
    then merges the shards and does the rest of that round (verify, retrain, evaluate), and stops there, so
    the next round's sampling can be sharded again."""

    out: str = setting(help="output folder: round-R/ (todo, samples, new paths, train, eval), rounds.jsonl, "
                       "report.md", io="out", kind="dir")  # fmt: skip
    data: list[str] = setting(
        [], "the current training data (solution rows): what counts as covered", io="in"
    )
    rounds: int = setting(1, "self-training rounds", ge=1)
    k: int = setting(4, "samples per uncovered problem", ge=1)
    min_paths: int = setting(1, "a problem is covered once it has this many verified solutions", ge=1)
    retrain_from: Literal["previous", "base"] = setting(
        "previous",
        "previous: fine-tune the last round's model on the new paths; base: train base_model on all the data",
    )
    replay: bool = setting(
        False,
        "previous: fine-tune on the data and every round's paths, not on the new paths alone (a few new paths "
        "for many steps overfit: measured in the demo, 82 -> 72 %, docs/DEMO.md)",
    )
    base_model: str | None = setting(None, "the model a base retrain starts from (default: --model)",
                                     io="in", kind="model")  # fmt: skip
    train_stage: dict = setting(
        {}, "settings of the retraining stage (a train stage; data is filled in)", cli=False
    )
    unlabelled: Literal["majority", "value"] = setting(
        "majority",
        "problems without a gold: keep the majority answer's paths, or those a value model scores high",
    )
    min_agreement: float = setting(0.5, "majority filter: the winning answer needs this share of the samples")
    value_model: str | None = setting(None, "value filter: a value model folder (train stage of type ovm)",
                                      io="in", kind="model")  # fmt: skip
    value_threshold: float = setting(0.5, "value filter: keep paths scored at least this")
    decontaminate: bool = setting(
        True, "drop problems that share an n-gram with a test set in the data folder"
    )
    ngram: int = setting(13, "decontamination n-gram size, in words", ge=1)
    eval_dataset: str | None = setting(None, "evaluate the generator before and after each round on this dataset",
                                       io="in", kind="dataset")  # fmt: skip
    eval_split: str = setting("test", "split of eval_dataset")
    eval_limit: int | None = setting(None, "evaluate on the first N problems only")
    split: str = redefault(ProblemsConfig, "split", "train")
    temperature: float = redefault(SamplingConfig, "temperature", 0.7)
