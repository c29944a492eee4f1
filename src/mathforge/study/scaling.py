"""``run(cfg)`` of ``mathforge study scaling``: plan the subsets, train and evaluate each, fit, report.

Layout of ``OUT``::

    runs/<key>/train.jsonl     the subset (original rows + the subset's augmented rows), written once
    runs/<key>/train/          its SFT (a train output_dir; a finished stage is skipped on re-run)
    runs/<key>/eval/<test>/    one evaluate run per test set (resumes where it stopped)
    results.json, report.md, scaling.png, transfer.png, types.png

Keys: ``q<N>-r<R>`` for a grid point (N augmented queries, R responses each), ``type-<aug_type>`` for the
equal-budget run of one augmentation type, ``original`` for the original rows alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from mathforge.io import write_json
from mathforge.rows import PredictionRow, SolutionRow, read_rows, write_rows
from mathforge.study import subsets
from mathforge.study.config import ScalingStudyConfig


@dataclass
class PlannedRun:
    key: str
    axis: str  # queries | responses | type | original
    rows: list[subsets.Tagged]
    n_queries: int = 0
    responses: int = 0
    aug_type: str | None = None
    scores: dict[str, dict[str, bool]] = field(default_factory=dict)  # test set -> problem id -> correct

    @property
    def examples(self) -> int:
        """Augmented examples trained on: the x of the scaling curve."""
        return len(self.rows)


def run(cfg: ScalingStudyConfig) -> dict:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    # 1. the tagged augmented rows, minus any whose seed problem is a test problem
    tests = load_test_sets(cfg)
    keys = test_keys(tests)
    rows, leaks = subsets.drop_leaks(load_tagged(cfg.data), *keys)
    kept, original_leaks = subsets.drop_leaks(load_tagged(cfg.original), *keys)
    original, leaks = [t.row for t in kept], leaks + original_leaks
    datasets = {test_name(d): d for d in cfg.eval_datasets}
    # 2. the runs: grid points on each axis, one run per augmentation type, the original rows alone
    plan = plan_runs(cfg, rows, bool(original))
    # 3. one SFT per subset (identical settings), every model on every test set
    for item in plan:
        item.scores = train_and_evaluate(cfg, out / "runs" / item.key, original, item, datasets)
    # 4. fits, tables and plots
    from mathforge.study.report import summarise, write_report

    results = summarise(cfg, plan, list(tests), leaks)
    write_json(out / "results.json", results)
    write_report(out, results)
    return results


def load_tagged(paths: list[str]) -> list[subsets.Tagged]:
    rows = [row for path in paths for _, row in read_rows(path, SolutionRow)]
    return subsets.tag(rows)


def test_name(dataset: str) -> str:
    """A test set's column name: the dataset's name, or a problem file's stem."""
    return Path(dataset).stem if dataset.endswith((".json", ".jsonl")) else dataset


def load_test_sets(cfg: ScalingStudyConfig) -> dict[str, list]:
    """Test-set name -> its whole split's problems (loaded first: a missing set fails before any training)."""
    from mathforge.data.config import ProblemsConfig

    return {
        test_name(d): ProblemsConfig(dataset=d, split=cfg.eval_split, data_dir=cfg.data_dir).load_problems()
        for d in cfg.eval_datasets
    }


def test_keys(tests: dict[str, list]) -> tuple[set[str], set[str]]:
    """Ids and normalised questions of every test problem: the boundary no seed problem may straddle."""
    problems = [p for ps in tests.values() for p in ps]
    return {p.id for p in problems}, {subsets.normalise(p.question) for p in problems}


def plan_runs(cfg: ScalingStudyConfig, rows: list[subsets.Tagged], with_original: bool) -> list[PlannedRun]:
    order = subsets.query_order(rows, cfg.subset_seed)
    most = max((t.response + 1 for t in rows), default=1)
    plan: list[PlannedRun] = []
    if with_original:
        plan.append(PlannedRun("original", "original", []))
    if "queries" in cfg.axes:
        r = min(cfg.responses) if cfg.responses else 1
        for n in cfg.queries or subsets.log_grid(len(order), cfg.grid_points, cfg.smallest):
            plan.append(_grid_run("queries", rows, order, n, r))
    if "responses" in cfg.axes:
        for r in cfg.responses or subsets.log_grid(most, cfg.grid_points, 1):
            plan.append(_grid_run("responses", rows, order, len(order), r))
    if cfg.by_type:
        for aug_type, chosen in subsets.equal_budget(rows, order, cfg.type_budget).items():
            plan.append(PlannedRun(f"type-{aug_type}", "type", chosen, aug_type=aug_type))
    return _unique(plan)


def _grid_run(axis: str, rows, order, n: int, r: int) -> PlannedRun:
    return PlannedRun(f"q{n:05d}-r{r:03d}", axis, subsets.subset(rows, order, n, r), n_queries=n, responses=r)


def _unique(plan: list[PlannedRun]) -> list[PlannedRun]:
    """A grid point on both axes (all queries, R responses) is trained once; it keeps its first axis and
    is listed again (same model) under the second."""
    seen: dict[str, PlannedRun] = {}
    out = []
    for item in plan:
        if item.key in seen:
            out.append(PlannedRun(item.key, item.axis, item.rows, item.n_queries, item.responses))
        else:
            seen[item.key] = item
            out.append(item)
    return out


def train_and_evaluate(
    cfg, folder: Path, original: list[SolutionRow], item: PlannedRun, tests: dict[str, str]
):
    """Train the subset's model (once), evaluate it on every test set; the per-problem verdicts."""
    data = folder / "train.jsonl"
    if not data.exists():
        write_rows(data, [*original, *(t.row for t in item.rows)])
    model = train_subset(cfg, folder / "train", data)
    return {
        name: evaluate_model(cfg, model, dataset, folder / "eval" / name) for name, dataset in tests.items()
    }


def train_subset(cfg: ScalingStudyConfig, out: Path, data: Path) -> str:
    from mathforge.train import train

    stage = {"prompt_format": cfg.prompt_format, "solution_format": cfg.solution_format, **cfg.train_stage}
    [folder] = train({"output_dir": str(out), "base_model": cfg.base_model,
                      "stages": [{**stage, "name": "sft", "data": [str(data)]}]})  # fmt: skip
    return str(folder)


def evaluate_model(cfg: ScalingStudyConfig, model: str, dataset: str, out: Path) -> dict[str, bool]:
    from mathforge.evaluate import EvaluateConfig
    from mathforge.evaluate import run as evaluate

    if not (out / "metrics.json").exists():
        shared = {
            k: getattr(cfg, k) for k in EvaluateConfig.model_fields if k in ScalingStudyConfig.model_fields
        }
        shared.update(
            model=model, dataset=dataset, split=cfg.eval_split, limit=cfg.eval_limit, n=1, out=str(out)
        )
        evaluate(EvaluateConfig(**shared))
    return {
        row.id: row.correct
        for _, row in read_rows(out / "predictions.jsonl", PredictionRow)
        if row.sample == 0
    }


def report(cfg: ScalingStudyConfig, results: dict) -> int:
    from mathforge.study.report import render

    print(render(results))
    print(f"wrote {cfg.out}/results.json, report.md, scaling.png, transfer.png, types.png")
    return 0


def load_results(out: str | Path) -> dict:
    return json.loads((Path(out) / "results.json").read_text())
