"""The stages of this package in the registry: ``evaluate`` and ``grade``."""

from mathforge.evaluate.compare import CompareConfig
from mathforge.evaluate.config import EvaluateConfig, GradeConfig
from mathforge.registry import Stage

STAGES = [
    Stage(
        "evaluate",
        EvaluateConfig,
        run="mathforge.evaluate.runner:run",
        report="mathforge.evaluate.runner:report",
        help="run a model on a benchmark (tir/cot/pot), grade it, write predictions, metrics and a report",
        description=(
            "Evaluate a model. In-process: --model PATH (any from_pretrained folder). Over HTTP (vLLM, SGLang, "
            "`transformers serve`): --base-url URL --model NAME.\nWrites OUT/config.json, OUT/predictions.jsonl "
            "(one row per sample, appended as samples finish; re-running resumes), OUT/metrics.json and "
            "OUT/report.md. Accuracies in metrics.json are fractions in [0, 1]."
        ),
    ),
    Stage(
        "grade",
        GradeConfig,
        run="mathforge.evaluate.grade:run",
        report="mathforge.evaluate.grade:report",
        help="re-grade predictions (an evaluate run's, or a foreign file) against gold answers",
        description=(
            "Grade FILE: an evaluate run's predictions.jsonl (answers are re-extracted from the transcripts), "
            "or rows with id, gold and output (model text) or pred (an extracted answer); optional sample, "
            "subject, level.\nWrites DIR/graded.jsonl (re-running resumes), DIR/metrics.json (the same layout "
            "as evaluate's) and DIR/report.md."
        ),
    ),
    Stage(
        "compare",
        CompareConfig,
        run="mathforge.evaluate.compare:run",
        report="mathforge.evaluate.compare:report",
        help="paired comparison of runs of the same problems: flips, McNemar's exact test, bootstrap interval",
    ),
]
