"""The stage of this package in the registry: ``self-train``."""

from mathforge.registry import Stage
from mathforge.selftrain.config import SelfTrainConfig

STAGES = [
    Stage(
        "self-train",
        SelfTrainConfig,
        run="mathforge.selftrain.rounds:run",
        report="mathforge.selftrain.rounds:report",
        help="self-training rounds: sample uncovered train problems, keep verified paths, retrain, evaluate",
        description="Each round samples K solutions for every train problem with fewer than --min-paths verified "
        "solutions in the training data, keeps the verified ones (gold-matched; majority- or value-filtered for "
        "problems without a gold), drops duplicates and test-set overlaps, retrains (the previous model on the "
        "new paths, or the base on everything) and evaluates. Every step is on disk under OUT: a killed round "
        "resumes and never adds a path twice.",
    ),
]
