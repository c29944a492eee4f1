"""``mathforge ovm data``: a value model's training data, from the generator's own samples.

The steps: sample K solutions per train problem (``evaluate`` with ``n=K`` at a temperature, into
``OUT.samples/``: resumable, every sample graded) -> one :class:`~mathforge.rows.ValueRow` per distinct
solution (duplicates by normalised code and answer dropped), labelled correct or not, with the problem's
accuracy -> optionally balanced (the larger class down-sampled, seeded) -> ``OUT`` and its stats.

Rows are in the loaded order of the problems (samples in order), so with ``--shard I/N`` each shard
samples its problems into ``OUT.samples/shard-I-of-N/``, labels them into ``OUT.shard-I-of-N.jsonl`` and
``mathforge merge OUT`` joins the shards into the unsharded run's rows: a problem's rows depend on its own
samples only. Balancing does not: it needs every row, so it is refused with ``--shard`` (merge the samples
with ``mathforge merge OUT.samples`` and run ``ovm data --balance`` once without ``--shard``: it resumes
from the merged samples and only labels).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from pathlib import Path

from pydantic import model_validator

from mathforge.answer.config import GraderConfig
from mathforge.config import redefault, setting
from mathforge.data.config import ProblemsConfig
from mathforge.infer.config import LoopConfig
from mathforge.llm.config import BackendConfig, SamplingConfig
from mathforge.rows import PredictionRow, ValueRow, write_rows
from mathforge.sandbox.config import SandboxConfig
from mathforge.shard import ShardConfig, file_manifest, start_ledger
from mathforge.stage_output import OutputConfig, report_stats


class OvmDataConfig(ProblemsConfig, BackendConfig, SamplingConfig, LoopConfig, SandboxConfig, GraderConfig,
                    OutputConfig, ShardConfig):  # fmt: skip
    """Sample, grade and label a generator's solutions to train problems."""

    k: int = setting(8, "samples per problem (the OVM paper: 100)", ge=1)
    balance: bool = setting(False, "down-sample the larger class (correct or wrong) to the size of the other")
    split: str = redefault(ProblemsConfig, "split", "train")
    temperature: float = redefault(SamplingConfig, "temperature", 0.7)
    out: str = redefault(OutputConfig, "out", "out/ovm/values.jsonl")

    @model_validator(mode="after")
    def _balance_whole(self):
        if self.balance and self.shard:
            raise ValueError(
                "--balance needs every shard's rows: run the shards without it, `mathforge merge OUT.samples`, "
                "then `ovm data --balance` once without --shard (it resumes from the merged samples)"
            )
        return self


def samples_dir(cfg: OvmDataConfig) -> Path:
    """The samples' evaluate run (``--shard I/N``: evaluate's own shard folder in it)."""
    return Path(cfg.out).with_suffix(".samples")


def run(cfg: OvmDataConfig) -> dict:
    everything = cfg.load_problems()
    problems = cfg.shard_items(everything)  # --shard I/N: this process's part (evaluate picks the same)
    ledger = start_ledger(cfg, file_manifest(cfg.out_file()), "ovm data", everything,
                          [str(p.id) for p in problems], {"": "problem_id"})  # fmt: skip
    rows = sample(cfg)
    values, dropped = label(rows, cfg, [str(p.id) for p in problems])
    if cfg.balance:
        values = balance(values, cfg.seed or 0)
    write_rows(cfg.out_file(), values)
    if ledger is not None:  # a problem short of K graded samples had requests fail: a re-run retries them
        have = Counter(r.id for r in rows)
        ledger.finish(incomplete=[str(p.id) for p in problems if have[str(p.id)] < cfg.k])
    accuracy = sum(r.correct for r in rows) / max(1, len(rows))
    per_problem = Counter(round(r.problem_accuracy or 0.0, 2) for r in values)
    return report_stats({
        "problems": len({r.id for r in rows}), "samples": len(rows), "sample_accuracy": round(accuracy, 4),
        "rows": len(values), "correct": sum(r.correct for r in values), "wrong": sum(not r.correct for r in values),
        "duplicates_dropped": dropped, "balanced": cfg.balance,
        "problems_all_correct": sum(1 for a in _accuracies(rows).values() if a == 1.0),
        "problems_all_wrong": sum(1 for a in _accuracies(rows).values() if a == 0.0),
        "rows_by_problem_accuracy": dict(sorted(per_problem.items())),
    }, cfg.stats_file(), "OVM value data")  # fmt: skip


def sample(cfg: OvmDataConfig) -> list[PredictionRow]:
    """K graded samples per problem through ``evaluate`` (its own resume and report)."""
    from mathforge.evaluate import EvaluateConfig
    from mathforge.evaluate import run as evaluate

    shared = {
        k: getattr(cfg, k)
        for k in EvaluateConfig.model_fields
        if k in OvmDataConfig.model_fields and k != "out"
    }
    evaluate(EvaluateConfig(**shared, n=cfg.k, out=str(samples_dir(cfg))))
    from mathforge.rows import read_rows

    return [r for _, r in read_rows(cfg.sharded_dir(samples_dir(cfg)) / "predictions.jsonl", PredictionRow)]


def _accuracies(rows: list[PredictionRow]) -> dict[str, float]:
    by: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        by[r.id].append(r.correct)
    return {pid: sum(v) / len(v) for pid, v in by.items()}


def label(
    rows: list[PredictionRow], cfg: OvmDataConfig, order: list[str] | None = None
) -> tuple[list[ValueRow], int]:
    """One value row per distinct solution of a problem (normalised code + answer), with its outcome.

    ``order``: the problem ids in loaded order; rows follow it (evaluate writes samples as they finish),
    so a shard's rows are a slice of the whole run's and the merge can restore them."""
    from mathforge.synthesize.filters import code_key, cot_key

    accuracy = _accuracies(rows)
    position = {pid: i for i, pid in enumerate(order or sorted(accuracy))}
    seen: set = set()
    out, dropped = [], 0
    for r in sorted(rows, key=lambda r: (position.get(r.id, len(position)), r.id, r.sample)):
        if not r.text.strip():
            continue
        body = code_key(r.text, cfg.solution_format) if r.executions else cot_key(r.text)
        key = (r.id, body, r.answer)
        if key in seen:
            dropped += 1
            continue
        seen.add(key)
        out.append(ValueRow(
            id=f"{r.id}/{r.sample}", problem_id=r.id, sample=r.sample, prompt=r.prompt, solution=r.text,
            format=cfg.solution_format, correct=r.correct, gold=r.gold, answer=r.answer,
            problem_accuracy=round(accuracy[r.id], 4), generator=cfg.model, temperature=cfg.temperature,
            method="ovm_sample", source_id=r.id,
        ))  # fmt: skip
    return out, dropped


def balance(rows: list[ValueRow], seed: int) -> list[ValueRow]:
    correct = [r for r in rows if r.correct]
    wrong = [r for r in rows if not r.correct]
    small, large = sorted((correct, wrong), key=len)
    keep = set(id(r) for r in random.Random(f"balance-{seed}").sample(large, len(small))) | {
        id(r) for r in small
    }
    return [r for r in rows if id(r) in keep]
