"""The demo's MARIO rows, after the main models: model (c) reranked by an outcome value model, and model (c)
after one self-training round. Both go through the project's own stages (``ovm data``, a train stage of
type ``ovm``, ``evaluate --value-model``, ``self-train``) with the demo's budgets.

Layout under ``OUT``::

    data/value_problems.jsonl   train problems with their golds (what the value data samples)
    data/selftrain_problems.jsonl  fresh train-distribution problems no training row covers
    ovm/values.jsonl            K graded samples per train problem from (c): correct and wrong solutions
    ovm/train/value/            the value model: (c)'s backbone + a value head
    ovm/eval/                   (c) on the test set with n = K samples, reranked (OVM@K, maj@K, pass@K)
    selftrain/                  one round: samples, verified new paths, the retrained (c), its evaluation
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from mathforge.demo.config import DemoConfig
from mathforge.io import write_jsonl


def value_problems(out: Path, cfg: DemoConfig, code_file: Path) -> Path:
    """The base train problems with their golds, read back from (c)'s own code-nested training rows."""
    from mathforge.answer import extract_answer

    path = out / "data" / "value_problems.jsonl"
    if not path.exists():
        rows = [json.loads(x) for x in code_file.read_text().splitlines() if x][: cfg.n_value]
        write_jsonl(path, ({"id": r["id"], "question": r["question"], "gold": extract_answer(r["solution"])}
                           for r in rows))  # fmt: skip
    return path


def fresh_problems(out: Path, cfg: DemoConfig) -> Path:
    """New draws from the training distribution (the demo's training templates and number range): what
    self-training gets to solve on its own. (They were drawn with another seed's templates, which could be
    this seed's held-out test templates.)"""
    from mathforge.demo.tasks import train_distribution

    path = out / "data" / "selftrain_problems.jsonl"
    if not path.exists():
        fresh = train_distribution(cfg.seed, cfg.n_selftrain, "fresh")
        write_jsonl(path, ({"id": p.id, "question": p.question, "gold": str(p.answer)} for p in fresh))
    return path


def _shared(cfg: DemoConfig) -> dict:
    return dict(mode="tir", max_rounds=cfg.max_rounds, max_tokens=cfg.max_tokens_code, prompt_format="plain",
                batch_size=cfg.eval_batch, sandbox_workers=cfg.threads, grade_workers=cfg.threads, seed=cfg.seed)  # fmt: skip


def ovm_row(out: Path, cfg: DemoConfig, c_model: Path, code_file: Path, test: Path) -> dict:
    """Value data from (c)'s samples -> a value model -> (c) with K samples per test problem, reranked."""
    from mathforge.evaluate import EvaluateConfig
    from mathforge.evaluate import run as evaluate
    from mathforge.ovm.data import OvmDataConfig
    from mathforge.ovm.data import run as ovm_data
    from mathforge.train import SUMMARY, train

    started, work = time.perf_counter(), out / "ovm"
    values = work / "values.jsonl"
    if not values.with_suffix(".stats.json").exists():
        ovm_data(OvmDataConfig(model=str(c_model), dataset=str(value_problems(out, cfg, code_file)), split="train",
                               k=cfg.k_samples, temperature=cfg.sample_temperature, out=str(values), **_shared(cfg)))  # fmt: skip
    value_model = work / "train" / "value"
    if not (value_model / SUMMARY).exists():
        train({"output_dir": str(work / "train"), "base_model": str(c_model), "stages": [
            {"name": "value", "type": "ovm", "data": [str(values)], "max_steps": cfg.steps_value,
             "batch_size": cfg.batch_size, "lr": cfg.lr, "packing": False, "save_steps": 0, "logging_steps": 10,
             "prompt_format": "plain", "solution_format": "tora", "seed": cfg.seed}]})  # fmt: skip
    metrics_path = work / "eval" / "metrics.json"
    if not metrics_path.exists():
        evaluate(EvaluateConfig(model=str(c_model), dataset=str(test), n=cfg.k_samples, temperature=cfg.sample_temperature,
                                value_model=str(value_model), out=str(work / "eval"), **_shared(cfg)))  # fmt: skip
    m = json.loads(metrics_path.read_text())
    rules, k = m["rerank"]["rules"], str(cfg.k_samples)
    stats = json.loads(values.with_suffix(".stats.json").read_text())
    return {"key": "ovm", "label": f"(c) + OVM@{k} reranking", "mode": "tir", "accuracy": rules["ovm"][k],
            "problems": m["problems"], "maj": rules["maj"][k], "pass": rules["pass"][k], "auroc": m["rerank"]["auroc"],
            "value_rows": stats.get("rows"), "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip


def selftrain_row(out: Path, cfg: DemoConfig, c_model: Path, code_file: Path, test: Path) -> dict:
    """One round: (c) solves fresh problems, the gold-verified paths retrain (c), the result is evaluated."""
    from mathforge.selftrain.config import SelfTrainConfig
    from mathforge.selftrain.rounds import run as self_train

    started = time.perf_counter()
    shared = _shared(cfg)
    [record] = self_train(SelfTrainConfig(
        model=str(c_model), dataset=str(fresh_problems(out, cfg)), data=[str(code_file)], rounds=1,
        k=cfg.k_selftrain, temperature=cfg.sample_temperature, retrain_from="previous", replay=True, decontaminate=False,
        eval_dataset=str(test), out=str(out / "selftrain"),
        train_stage={"max_steps": cfg.steps_selftrain, "batch_size": cfg.batch_size, "lr": cfg.lr / 4,
                     "packing": False, "save_steps": 0, "logging_steps": 10, "solution_format": "tora",
                     "seed": cfg.seed},
        **shared))  # fmt: skip
    return {"key": "selftrain", "label": "(c) + one self-training round", "mode": "tir",
            "accuracy": record["accuracy_after"], "accuracy_before": record["accuracy_before"],
            "problems": cfg.n_test, "paths_added": record["paths_added"],
            "problems_newly_covered": record["problems_newly_covered"],
            "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
