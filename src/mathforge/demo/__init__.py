"""mathforge.demo: the offline end-to-end job (`mathforge demo`, `make demo`).

Synthetic multi-step arithmetic word problems (:mod:`mathforge.demo.tasks`) with one-line-per-step CoT and
code-nested solutions (:mod:`mathforge.demo.solutions`); a tiny model trained three ways through
``mathforge.train`` and scored through ``mathforge.evaluate`` (:mod:`mathforge.demo.pipeline`); a report
with plots (:mod:`mathforge.demo.report`).
"""

from mathforge.demo.config import FULL, QUICK, DemoConfig
from mathforge.demo.solutions import code_solution, cot_solution, program
from mathforge.demo.tasks import TaskProblem, generate, redraw, split_templates

__all__ = [
    "FULL",
    "QUICK",
    "DemoConfig",
    "TaskProblem",
    "code_solution",
    "cot_solution",
    "generate",
    "program",
    "redraw",
    "run_demo",
    "split_templates",
]


def run_demo(out, cfg: DemoConfig = FULL, console=None) -> dict:
    from mathforge.demo.pipeline import run_demo as _run

    return _run(out, cfg, console)
