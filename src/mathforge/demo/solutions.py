"""The two solution styles of a demo problem: one-line-per-step CoT and code-nested (ToRA format)."""

from __future__ import annotations

from mathforge.demo.tasks import OPS, TaskProblem
from mathforge.solution import Code, Output, Text, render


def cot_solution(p: TaskProblem) -> str:
    """One line per step, ``a+b=result`` (GSM8K's rationale style without the calculator), then the boxed
    answer: a model trained on it must do 3-5 digit arithmetic in its head, which a tiny model cannot.

    It used to be digit by digit (column sums with carries): rows of ~230 tokens, so the CoT stage cost
    2.5x more, and (measured, docs/DEMO.md) stage 2 of model (c) then learned to copy the later operands
    abruptly at a seed-dependent step. With one line per step the CoT stage copies every operand just as a
    program does; stage 2 learned smoothly on seeds 0-2 and 4, not on seed 3.
    """
    lines, x = [], p.start
    for step, n in p.steps:
        sym = OPS[step.kind][0]
        new = x + n if sym == "+" else x - n if sym == "-" else x * n
        lines.append(f"{x}{sym}{n}={new}")
        x = new
    assert x == p.answer
    return "\n".join(lines) + f"\n\\boxed{{{p.answer}}}"


def program(p: TaskProblem) -> str:
    """One line per clause, in the order the question states them."""
    lines = [f"x={p.start}"] + [f"x{OPS[s.kind][0]}={n}" for s, n in p.steps] + ["print(x)"]
    return "\n".join(lines)


def code_solution(p: TaskProblem, output: str | None = None) -> str:
    """ToRA-format code-nested solution; ``output`` is what the interpreter printed (default: the answer)."""
    out = str(p.answer) if output is None else output
    segments = [Text("Let x be the amount."), Code(program(p)), Output(out), Text(f"\\boxed{{{p.answer}}}")]
    return render(segments, "tora")
