"""``mathforge demo``: the offline end-to-end job (what ``make demo`` runs)."""

from __future__ import annotations

from mathforge.config import Config, setting
from mathforge.io import DataError
from mathforge.registry import Stage


class DemoRunConfig(Config):
    """Synthetic problems, a tiny model trained three ways, evaluation with the interpreter, a report."""

    out: str = setting("runs/demo", "output folder", io="out", kind="dir")
    seed: int = setting(0, "seed for data, initialisation and training")
    seeds: str = setting(
        "",
        "comma-separated seeds (e.g. 0,1,2,3,4): run each into OUT/seed-K, then write OUT/report.md with "
        "each seed's table, mean and spread, per-seed gaps and whether every seed meets the bar",
        metavar="LIST",
    )
    threads: int = setting(
        1,
        "torch threads per worker process; another count changes float reductions, hence the exact "
        "numbers (a stand-in for another CPU)",
        ge=1,
    )
    quick: bool = setting(
        False, "smoke run: every stage on a toy budget (a minute; accuracies are not meaningful)"
    )
    prepare: bool = setting(False, "only write the synthetic data (OUT/data) and the base model (OUT/base), "
                            "e.g. for recipes/demo-tiny.yaml")  # fmt: skip


def run(cfg: DemoRunConfig) -> dict | None:
    import os
    from dataclasses import replace

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the demo draws its own progress; no per-shard bars
    from mathforge.demo.config import FULL, QUICK
    from mathforge.demo.pipeline import Demo

    budget = replace(QUICK if cfg.quick else FULL, seed=cfg.seed, threads=cfg.threads)
    if not cfg.seeds:
        demo = Demo(cfg.out, budget)
        if cfg.prepare:
            demo.prepare()
            return None
        return demo.run()
    return {"seeds": run_seeds(cfg, budget)}


def seed_list(text: str) -> list[int]:
    try:
        seeds = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise DataError(f"--seeds takes comma-separated integers, got {text!r}", field="seeds") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise DataError(f"--seeds needs distinct seeds, got {text!r}", field="seeds")
    return seeds


def run_seeds(cfg: DemoRunConfig, budget) -> dict:
    """Each seed's demo into OUT/seed-K (one after another; each resumes like a single run), then the
    aggregate report in OUT."""
    from dataclasses import replace
    from pathlib import Path

    from rich.console import Console

    from mathforge.demo.pipeline import Demo
    from mathforge.demo.report import write_aggregate

    console, out, by_seed = Console(), Path(cfg.out), {}
    for seed in seed_list(cfg.seeds):
        console.rule(f"[bold]seed {seed}")
        by_seed[seed] = Demo(out / f"seed-{seed}", replace(budget, seed=seed), console).run()
    return write_aggregate(out, by_seed, console)


def report(cfg: DemoRunConfig, results: dict | None) -> int:
    from mathforge.demo.report import verdict

    if results is None:
        print(f"wrote {cfg.out}/data and {cfg.out}/base")
        return 0
    if "seeds" in results:
        print(f"report over seeds: {cfg.out}/report.md")
        return 0
    if not cfg.quick:  # the verdict again as the last line too: it is what a user looks for
        print(verdict(results["gap_points"])[1])
    print(f"report: {cfg.out}/report.md")
    return 0


STAGES = [
    Stage(
        "demo",
        DemoRunConfig,
        run="mathforge.demo.stage:run",
        report="mathforge.demo.stage:report",
        help="offline end-to-end run: synthetic data, tiny model, CoT vs code-nested vs two-stage, report",
        description=(
            "Build synthetic multi-step arithmetic word problems, train a tiny Llama from scratch three ways "
            "((a) CoT only, (b) code-nested only, (c) two-stage CoT then code-nested, the latter at several "
            "amounts of augmented data), evaluate each with the interpreter in the loop, and write "
            "OUT/report.md, OUT/accuracy.png and OUT/scaling.png. Re-running skips finished stages."
        ),
    )
]
