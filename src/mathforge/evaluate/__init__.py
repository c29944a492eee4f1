"""``mathforge evaluate``: predictions.jsonl (one row per sample, resumable), metrics.json and report.md."""

from mathforge.evaluate.run import evaluate

__all__ = ["evaluate"]
