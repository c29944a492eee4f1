"""Parse a GSM8K worked solution into a chain of arithmetic steps.

GSM8K solutions carry calculator annotations ``<<48/2=24>>`` that are already programs. Some steps are
written without an annotation (``$43 - $18 = $25``), often the last one; those are recovered from the
prose. Each step keeps its expression, the value the annotation (or text) claims, and where it sits.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from dataclasses import dataclass, field

_ANNOTATION = re.compile(r"<<([^<>]*)>>")
# the number a solution writes right after an annotation: "<<5*7=35>>35"
_AFTER_ANNOTATION = re.compile(r"\s*\$?\s*(-?[\d,]*\.?\d+)")

# tokens of prose arithmetic ("$43 - $18 = $25", "10 × $4 = $40", "2000 cases + 500 cases = 2500")
_TOKEN = re.compile(
    # a number glued to a letter ("2x", "6W") is algebra and one after ":" is a clock time: not numbers here
    r"(?P<num>(?<![\d.])(?<!\d:)\$?\s?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?!\.?\w)(?:\s?%)?)"
    r"|(?P<op>[+\-*/×÷−–]|\b[xX]\b)|(?P<eq>=)|(?P<lp>\()|(?P<rp>\))|(?P<word>[A-Za-z]+)|(?P<other>\S)"
)
_MAX_UNIT_WORDS = 3
_IMPLICIT_TIMES = re.compile(r"(?<=[\d)])\(")


class ChainError(ValueError):
    """A solution that cannot be read as a chain (the reason is the message)."""


@dataclass
class Step:
    """One arithmetic step: ``expr`` evaluates to ``claimed`` (what the solution wrote)."""

    line: int  # index of the solution line holding it
    expr: str  # python-syntax expression with numeric literals only
    claimed: float
    claimed_text: str  # the value as written in the annotation
    annotated: bool  # False: recovered from prose
    written: float | None = None  # the number the prose writes right after the annotation
    start: int = 0  # char span of the annotation (or the prose match) in its line
    end: int = 0


@dataclass
class Chain:
    lines: list[str]  # solution lines, without the final "#### answer" line
    steps: list[Step]
    gold_text: str  # the "####" answer as written
    gold: float | None = field(default=None)

    def steps_on(self, line: int) -> list[Step]:
        return [s for s in self.steps if s.line == line]


def parse_number(text: str) -> float:
    """``"$1,200.50"`` -> 1200.5; raises ValueError on anything else."""
    cleaned = text.replace(",", "").replace("$", "").strip()
    return float(cleaned)


def split_answer(answer: str) -> tuple[str, str]:
    """GSM8K ``answer`` -> (worked solution, final answer text)."""
    if "####" not in answer:
        raise ChainError("no_final_answer")
    body, _, final = answer.rpartition("####")
    return body.rstrip("\n"), final.strip()


def parse_chain(answer: str) -> Chain:
    """Read the annotated steps (and prose arithmetic on lines without an annotation)."""
    body, gold_text = split_answer(answer)
    try:
        gold = parse_number(gold_text)
    except ValueError:
        gold = None
    lines = [ln for ln in body.split("\n") if ln.strip()]
    steps: list[Step] = []
    for i, line in enumerate(lines):
        line_steps = [_annotated_step(i, line, m) for m in _ANNOTATION.finditer(line)]
        # prose arithmetic elsewhere on the line; annotations are masked (same length, so positions hold)
        # so that "48/2 = <<48/2=24>>24" is not read twice
        masked = _ANNOTATION.sub(lambda m: "\u00a4" * len(m.group(0)), line)
        line_steps.extend(_prose_steps(i, masked))
        steps.extend(sorted(line_steps, key=lambda s: s.start))
    return Chain(lines=lines, steps=steps, gold_text=gold_text, gold=gold)


def _annotated_step(i: int, line: str, m: re.Match) -> Step:
    inner = m.group(1)
    if inner.count("=") != 1:
        raise ChainError("malformed_annotation")
    expr, value = (part.strip() for part in inner.split("="))
    try:
        claimed = parse_number(value)
    except ValueError:
        raise ChainError("malformed_annotation") from None
    written = None
    after = _AFTER_ANNOTATION.match(line, m.end())
    if after:
        try:
            written = parse_number(after.group(1))
        except ValueError:
            written = None
    return Step(i, normalise_expr(expr), claimed, value, True, written, m.start(), m.end())


def _prose_steps(i: int, line: str) -> list[Step]:
    """Arithmetic written in prose, without an annotation: ``... = value`` preceded by numbers and operators."""
    line = _IMPLICIT_TIMES.sub("*(", line)  # "8(26)" is 8 * 26
    toks = [(m.lastgroup, m.group(), m.start(), m.end()) for m in _TOKEN.finditer(line)]
    steps = []
    for e, (kind, _, _, _) in enumerate(toks):
        if kind != "eq" or e + 1 >= len(toks) or toks[e + 1][0] != "num":
            continue
        if e + 2 < len(toks) and toks[e + 2][1] == "/":  # "= 1/2": a fraction, not a value
            continue
        if e + 2 < len(toks) and toks[e + 2][0] in ("op", "eq"):  # "= 4000 + 2040 = ...": a chained rewrite
            continue
        found = _expr_start(toks, e)
        if found is None:
            continue
        start, units = found
        pieces = [t[1] for j, t in enumerate(toks[start:e], start) if t[0] != "word" and j not in units]
        expr = normalise_expr(" ".join(pieces))
        expr = _balance(expr)
        value = toks[e + 1][1]
        try:
            ast.parse(expr, mode="eval")
            claimed = parse_number(value.replace("%", ""))
        except (SyntaxError, ValueError):
            continue
        value_text = value.replace(",", "").replace("$", "").replace("%", "").strip()
        if "%" in value:  # "40% + 20% = 60%": percents are hundredths on both sides
            claimed /= 100
            value_text = _fmt_plain(claimed)
        steps.append(Step(i, expr, claimed, value_text, False, None, toks[start][2], toks[e + 1][3]))
    return steps


def _expr_start(toks: list[tuple], eq: int) -> tuple[int, set[int]] | None:
    """Walk back from ``=`` over ``operand (op operand)*``; None if it is not plain arithmetic.

    An operand is a number with up to three unit words, rate units included (``$5400/week``); returns
    the first token and the indices of the ``/`` that belong to units.
    """
    k = eq - 1
    n_ops = 0
    units: set[int] = set()
    while True:
        while k >= 0 and toks[k][0] == "rp":
            k -= 1
        words = 0
        while k >= 0 and words < _MAX_UNIT_WORDS + 1:
            if toks[k][0] == "word":
                k, words = k - 1, words + 1
            elif (
                toks[k][1] == "/"
                and k + 1 < eq
                and toks[k + 1][0] == "word"
                and k > 0
                and toks[k - 1][0] in ("num", "word")
            ):
                units.add(k)
                k -= 1
            else:
                break
        if k < 0 or toks[k][0] != "num":
            return None  # an operator with no number before it: algebra ("S + 143 = 200")
        k -= 1
        while k >= 0 and toks[k][0] == "lp":
            k -= 1
        if k >= 0 and toks[k][0] == "op":
            k, n_ops = k - 1, n_ops + 1
            continue
        break
    if n_ops == 0 or (k >= 0 and toks[k][0] == "num"):  # "3 1/2": a mixed number
        return None
    start = k + 1
    while toks[start][0] == "rp":
        start += 1
    return start, units


def _balance(expr: str) -> str:
    """Drop parentheses the walk cut in half."""
    while expr.count("(") > expr.count(")") and expr.startswith("("):
        expr = expr[1:].lstrip()
    while expr.count(")") > expr.count("(") and expr.endswith(")"):
        expr = expr[:-1].rstrip()
    return expr


def _fmt_plain(x: float) -> str:
    return f"{x:.10f}".rstrip("0").rstrip(".")


def normalise_expr(expr: str) -> str:
    """Prose or annotation arithmetic -> python syntax (``x``/``×`` multiply, ``$``/commas dropped, ``%``)."""
    e = expr.replace("$", "").replace("×", "*").replace("÷", "/").replace("−", "-").replace("–", "-")
    e = re.sub(r"(?<=[\d)%])\s*[xX]\s*(?=[\d($.])", " * ", e)
    e = re.sub(r"[A-Za-z]+", " ", e)  # unit words of prose arithmetic
    e = re.sub(r"(?<=\d),(?=\d{3})", "", e)
    e = re.sub(r"((?:\d+(?:\.\d+)?|\.\d+))\s*%", r"(\1/100)", e)
    e = e.replace("^", "**")
    # python rejects leading zeros ("05"); a literal "0.5" / ".5" is fine
    e = re.sub(r"(?<![\d.])0+(?=\d)", "", e)
    return re.sub(r"\s+", " ", e).strip()


# --- exact python arithmetic on parsed expressions (no exec: only numbers, names and + - * / // % **) ---

_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


class EvalError(ValueError):
    pass


def evaluate(expr: str | ast.AST, env: dict[str, float] | None = None) -> float:
    """Evaluate arithmetic with python's own operators, so results print exactly as the sandbox would."""
    node = ast.parse(expr, mode="eval").body if isinstance(expr, str) else expr
    return _eval(node, env or {})


def _eval(node: ast.AST, env: dict[str, float]) -> float:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float))
        and not isinstance(node.value, bool)
    ):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in env:
            raise EvalError(f"unknown name {node.id}")
        return env[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _eval(node.operand, env)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _eval(node.left, env), _eval(node.right, env)
        if isinstance(node.op, ast.Pow) and (abs(right) > 64 or abs(left) > 1e6):
            raise EvalError("power too large")
        try:
            result = _BINOPS[type(node.op)](left, right)
        except (ZeroDivisionError, OverflowError) as exc:
            raise EvalError(str(exc)) from None
        if isinstance(result, complex) or (isinstance(result, float) and not math.isfinite(result)):
            raise EvalError("not a real number")
        return result
    raise EvalError(f"unsupported syntax {type(node).__name__}")


def close(a: float, b: float, rel: float = 1e-6) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def rounds_to(exact: float, claimed_text: str) -> bool:
    """True when ``claimed_text`` is ``exact`` rounded (or truncated) to the decimals it shows."""
    claimed = parse_number(claimed_text)
    if close(exact, claimed):
        return True
    scale = 10.0 ** (len(claimed_text.split(".")[1]) if "." in claimed_text else 0)
    v = round(exact * scale, 6)  # float noise must not widen the interval by one unit
    lo, hi = math.floor(v), math.ceil(v)
    return lo - 1e-6 <= claimed * scale <= hi + 1e-6
