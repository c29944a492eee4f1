"""The stage of this package in the registry: ``study scaling``."""

from mathforge.registry import Stage
from mathforge.study.config import ScalingStudyConfig

STAGES = [
    Stage(
        "study scaling",
        ScalingStudyConfig,
        run="mathforge.study.scaling:run",
        report="mathforge.study.scaling:report",
        help="MuggleMath's scaling study: nested subsets of augmented data, one SFT each, fits and plots",
        description="From tagged augmented solution rows (aug_type or method, source_id), build nested subsets "
        "on a log grid along two axes (augmented queries, responses per query; a fixed seed orders the queries, "
        "so each subset contains the smaller ones), drop rows whose seed problem is a test problem, train one "
        "SFT per subset from base_model with identical settings, and evaluate every model on every test set. "
        "Fits accuracy against log N (slope, R², bootstrap interval over test problems; a two-segment fit with "
        "its breakpoint from four sizes), and compares augmentation types at an equal budget. Writes "
        "results.json, report.md, scaling.png, transfer.png and types.png; a re-run resumes every step.",
    ),
]
