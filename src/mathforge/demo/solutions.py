"""The two solution styles of a demo problem: digit-by-digit CoT and code-nested (ToRA format)."""

from __future__ import annotations

from mathforge.demo.tasks import OPS, TaskProblem
from mathforge.solution import Code, Output, Text, render


def _digits(n: int) -> list[int]:
    """Least significant digit first."""
    return [int(c) for c in reversed(str(n))]


def add_steps(a: int, b: int) -> str:
    """Column addition, units first: ``4+7=11,3+6+1=10,...``."""
    da, db = _digits(a), _digits(b)
    cols, carry = [], 0
    for i in range(max(len(da), len(db))):
        x, y = (da[i] if i < len(da) else 0), (db[i] if i < len(db) else 0)
        s = x + y + carry
        cols.append(f"{x}+{y}+{carry}={s}" if carry else f"{x}+{y}={s}")
        carry = s // 10
    return ",".join(cols)


def sub_steps(a: int, b: int) -> str:
    """Column subtraction with borrows, units first: the top digit shown already lends/borrows."""
    da, db = _digits(a), _digits(b)
    cols, borrow = [], 0
    for i in range(len(da)):
        x, y = da[i] - borrow, (db[i] if i < len(db) else 0)
        borrow = 1 if x < y else 0
        top = x + 10 * borrow
        cols.append(f"{top}-{y}={top - y}")
    return ",".join(cols)


def mul_steps(a: int, k: int) -> str:
    """Multiplication by a one-digit number, units first, carrying tens."""
    cols, carry = [], 0
    for x in _digits(a):
        p = x * k + carry
        cols.append(f"{x}*{k}+{carry}={p}" if carry else f"{x}*{k}={p}")
        carry = p // 10
    return ",".join(cols)


_STEPS = {"add": add_steps, "sub": sub_steps, "mul": mul_steps}


def cot_solution(p: TaskProblem) -> str:
    """One line per step: ``a+b: columns; =result``, then the boxed answer."""
    lines, x = [], p.start
    for step, n in p.steps:
        sym = OPS[step.kind][0]
        new = x + n if sym == "+" else x - n if sym == "-" else x * n
        lines.append(f"{x}{sym}{n}: {_STEPS[step.kind](x, n)}; ={new}")
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
