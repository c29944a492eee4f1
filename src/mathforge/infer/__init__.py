"""Tool-integrated inference: the model writes code, the sandbox runs it, the model reads the output.

>>> trajs = run_tir(backend, problems, mode="tir", n=4, params=GenParams(max_tokens=512), max_rounds=4)

Modes: ``tir`` (interleave prose and executed code until a ``\\boxed{}`` answer, EOS or ``max_rounds``
executions), ``cot`` (one free generation, nothing executed) and ``pot`` (one program, executed once;
its printed output is the answer).
"""

from mathforge.infer.loop import run_tir
from mathforge.infer.steps import MODES, Steps, answer_of, has_boxed_answer
from mathforge.infer.trajectory import FINISH_REASONS, MAX_CALLS_NOTE, Execution, Trajectory

__all__ = [
    "FINISH_REASONS",
    "MAX_CALLS_NOTE",
    "MODES",
    "Execution",
    "Steps",
    "Trajectory",
    "answer_of",
    "has_boxed_answer",
    "run_tir",
]
