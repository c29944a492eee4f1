"""Tool-integrated inference: the model writes code, the sandbox runs it, the model reads the output.

>>> trajs = run_tir(backend, problems, mode="tir", n=4, params=GenParams(max_tokens=512), max_rounds=4)

Modes: ``tir`` (interleave prose and executed code until a ``\\boxed{}`` answer, EOS or ``max_rounds``
executions), ``cot`` (one free generation, nothing executed) and ``pot`` (one program, executed once;
its printed output is the answer). Self-consistency over n samples: :mod:`mathforge.infer.consistency`.
"""

from mathforge.infer.consistency import answer_classes, majority_index, pass_at_k, sample_metrics
from mathforge.infer.loop import run_tir
from mathforge.infer.steps import MODES, Steps, has_boxed_answer
from mathforge.infer.trajectory import FINISH_REASONS, MAX_CALLS_NOTE, Execution, Trajectory

__all__ = [
    "FINISH_REASONS",
    "MAX_CALLS_NOTE",
    "MODES",
    "Execution",
    "Steps",
    "Trajectory",
    "answer_classes",
    "has_boxed_answer",
    "majority_index",
    "pass_at_k",
    "run_tir",
    "sample_metrics",
]
