"""mathforge.evaluate: run a model on problems and grade it (``mathforge evaluate``), re-grade a predictions
file (``mathforge grade``), and the metrics both report (accuracy, maj@k, pass@k; fractions in [0, 1]).

>>> from mathforge.evaluate import EvaluateConfig, run
>>> metrics = run(EvaluateConfig(model="runs/model", dataset="gsm8k", out="runs/eval"))
"""

from mathforge.evaluate.config import EvaluateConfig, GradeConfig
from mathforge.evaluate.metrics import summarize
from mathforge.evaluate.runner import run
from mathforge.evaluate.sampling import pass_at_k, sample_metrics

__all__ = ["EvaluateConfig", "GradeConfig", "pass_at_k", "run", "sample_metrics", "summarize"]
