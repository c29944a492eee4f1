"""``mathforge demo``: the offline end-to-end job (what ``make demo`` runs)."""

from __future__ import annotations

from mathforge.config import Config, setting
from mathforge.registry import Stage


class DemoRunConfig(Config):
    """Synthetic problems, a tiny model trained three ways, evaluation with the interpreter, a report."""

    out: str = setting("runs/demo", "output folder", io="out", kind="dir")
    seed: int = setting(0, "seed for data, initialisation and training")
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

    demo = Demo(cfg.out, replace(QUICK if cfg.quick else FULL, seed=cfg.seed))
    if cfg.prepare:
        demo.prepare()
        return None
    return demo.run()


def report(cfg: DemoRunConfig, results: dict | None) -> int:
    if results is None:
        print(f"wrote {cfg.out}/data and {cfg.out}/base")
        return 0
    print(f"report: {cfg.out}/report.md")
    if not cfg.quick and results["gap_points"] < 30:
        print(f"warning: the gap (c) - (a) is {results['gap_points']:+.1f} points, below the 30-point bar")
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
