"""Every setting of ``mathforge evaluate`` and ``mathforge grade`` (and of their recipe steps), declared once."""

from __future__ import annotations

from pydantic import model_validator

from mathforge.answer.config import GraderConfig
from mathforge.config import redefault, setting
from mathforge.data.config import ProblemsConfig
from mathforge.infer.config import LoopConfig
from mathforge.llm.config import BackendConfig, SamplingConfig
from mathforge.sandbox.config import SandboxConfig
from mathforge.shard import ShardConfig


class EvaluateConfig(
    ProblemsConfig, BackendConfig, SamplingConfig, LoopConfig, SandboxConfig, GraderConfig, ShardConfig
):
    """Run a model over problems with the interpreter in the loop, grade every sample, write a report.

    Outputs in ``out``: ``config.json`` (these settings), ``predictions.jsonl`` (one row per sample, appended
    as samples finish: a killed run resumes where it stopped), ``metrics.json`` and ``report.md``; with
    ``shard`` in ``out/shard-I-of-N/`` (plus its ``shard.json``), joined by ``mathforge merge out``.
    """

    n: int = setting(1, "samples per problem (maj@k and pass@k when > 1)", ge=1)
    suite: str | None = setting(
        None,
        "a named list of benchmarks instead of --dataset (tora-ood, mario, competition, easy-word, or a YAML "
        "file): one table, each dataset in OUT/<dataset>/",
        resume=True,
    )
    reference: str | None = setting(None, "a YAML file of reference rows ({name: {dataset: percent}}) for the suite table",
                                    io="in")  # fmt: skip
    value_model: str | None = setting(
        None,
        "with n > 1: rerank the samples with this value model (OVM@k beside maj@k; see ovm rerank)",
        io="in",
        kind="model",
    )
    rerank_thresholds: list[float] = setting(
        [0.2, 0.4], "outlier-free reranking: drop answer classes below these shares"
    )
    out: str = setting("runs/eval", "output folder", io="out", kind="dir")
    grade_timeout: float = redefault(GraderConfig, "grade_timeout", 10.0)

    @model_validator(mode="after")
    def _one_source(self):
        if self.suite and self.dataset:
            raise ValueError("give --dataset or --suite, not both")
        return self


class GradeConfig(ProblemsConfig, GraderConfig):
    """Grade a predictions file against gold answers."""

    file: str = setting(help="predictions JSONL: an evaluate run's predictions.jsonl or a foreign file",
                        io="in", positional=True)  # fmt: skip
    out: str = setting(
        help="output folder for graded.jsonl, metrics.json and report.md", io="out", kind="dir"
    )
    dataset: str | None = redefault(ProblemsConfig, "dataset", None)
