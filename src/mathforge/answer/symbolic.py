"""sympy-level rules around math-verify's verdict: vetoes of its rounding, and retries where it misreads.

- exact rational veto: math-verify compares numbers after rounding, so it calls ``\\frac{1}{2004!}`` equal
  to ``\\frac{1}{2006!}``; when both sides are exact rationals they are compared exactly instead;
- sympy/Python printouts (``pi/2``, ``x**2 + 1``) are read as sympy and retried as LaTeX;
- an inequality and an interval that are the same set (``0 < x < 12.5`` and ``(0, 12.5)``,
  Math-Verify#10/#25: math-verify only accepts the inequality on the gold side);
- floats with integer values and symbols that differ only in assumptions (``14.0 + -1.0i`` vs ``14 - i``:
  latex2sympy makes the ``i`` of ``1.0i`` real and the lone ``i`` not, Math-Verify#69).
"""

from __future__ import annotations

import re
from fractions import Fraction

from mathforge.answer.numbers import MAX_FAST_LEN

_PY_CHARS_RE = re.compile(r"^[A-Za-z0-9\s.+\-*/^(),]+$")
_PY_MARKER_RE = re.compile(r"\*|\b(?:sqrt|pi|oo|I|exp|log|Rational)\b")
_PY_NAMES = frozenset(
    re.findall(r"\w+", "sqrt pi I oo E exp log sin cos tan asin acos atan Rational Abs factorial binomial")
)


def python_expr_to_latex(text: str) -> str | None:
    """``sqrt(3)*I/2`` -> ``\\frac{\\sqrt{3} i}{2}``; None unless ``text`` looks like sympy/Python output.

    sympy's parser evaluates its input, so only plain arithmetic over whitelisted names and one-letter
    symbols gets there (no quotes, underscores, brackets or attribute access).
    """
    if not _PY_CHARS_RE.match(text) or not _PY_MARKER_RE.search(text) or len(text) > MAX_FAST_LEN:
        return None
    names = set(re.findall(r"[A-Za-z]+", text))
    if any(len(n) > 1 and n not in _PY_NAMES for n in names) or re.search(
        r"\d\.\s*[A-Za-z]|[A-Za-z]\.", text
    ):
        return None
    import sympy
    from sympy.parsing.sympy_parser import parse_expr, standard_transformations

    local = {n: sympy.Symbol(n) for n in names if len(n) == 1 and n not in ("I", "E")}
    try:
        expr = parse_expr(
            text.replace("^", "**"),
            local_dict=local,
            transformations=standard_transformations,
            evaluate=False,
        )
        return sympy.latex(expr)
    except Exception:  # not valid sympy syntax after all
        return None


def exact_conflict(gold, pred) -> bool:
    """True when both are exact rationals (or same-shaped tuples/matrices/sets of them) that differ."""
    import sympy

    if isinstance(gold, sympy.MatrixBase) and isinstance(pred, sympy.MatrixBase):
        if gold.shape != pred.shape:
            return False
        return any(exact_conflict(g, p) for g, p in zip(gold, pred, strict=True))
    if isinstance(gold, sympy.Tuple) and isinstance(pred, sympy.Tuple):
        if len(gold) != len(pred):
            return False
        return any(exact_conflict(g, p) for g, p in zip(gold.args, pred.args, strict=True))
    if isinstance(gold, sympy.FiniteSet) and isinstance(pred, sympy.FiniteSet):
        gs, ps = _exact_rationals(gold.args), _exact_rationals(pred.args)
        return gs is not None and ps is not None and set(gs) != set(ps)
    g, p = exact_rational(gold), exact_rational(pred)
    return g is not None and p is not None and g != p


def _exact_rationals(items) -> list | None:
    values = [exact_rational(x) for x in items]
    return None if any(v is None for v in values) else values


def exact_rational(expr):
    """``expr`` evaluated to a sympy Rational when it is an exact (Float-free) rational constant, else None."""
    import sympy

    if not isinstance(expr, sympy.Expr) or expr.free_symbols or expr.has(sympy.Float):
        return None
    value = expr.doit()
    return value if value.is_Rational else None


def as_solution_set(expr):
    """The set an answer describes, when it is one: an interval/union as is, ``m \\in S`` as S, and an
    inequality (or a chain of them) in one variable as its solution set; otherwise None."""
    import sympy
    from sympy.logic.boolalg import Boolean

    if isinstance(expr, sympy.Set):
        return expr
    if isinstance(expr, sympy.Eq) and isinstance(expr.rhs, sympy.Set):
        return expr.rhs  # latex2sympy reads "m \in [a, b)" as Eq(m, Interval)
    relational = (sympy.Lt, sympy.Le, sympy.Gt, sympy.Ge, sympy.And, sympy.Or)
    if isinstance(expr, relational) and isinstance(expr, Boolean) and len(expr.free_symbols) == 1:
        try:
            return expr.as_set()
        except (NotImplementedError, TypeError, ValueError):
            return None
    return None


def solution_sets(gold, pred) -> tuple | None:
    """Both sides as sets when one is an inequality and the other a set (``0 < x < 12.5`` vs
    ``(0, 12.5)``), for math-verify to compare; None otherwise (two sets it has compared already)."""
    import sympy

    if isinstance(gold, sympy.Set) and isinstance(pred, sympy.Set):
        return None
    gs, ps = as_solution_set(gold), as_solution_set(pred)
    if gs is None or ps is None:
        return None
    return gs, ps


def canonical_pair(gold, pred) -> tuple | None:
    """Both sides with integer-valued floats as integers and same-named symbols made one symbol, when that
    changes anything (``14.0 - 1.0i`` vs ``14 - i``); None otherwise, so a plain wrong answer costs no
    second comparison."""
    import sympy

    if not isinstance(gold, sympy.Basic) or not isinstance(pred, sympy.Basic):
        return None
    floats = [f for e in (gold, pred) for f in e.atoms(sympy.Float) if f == int(f)]
    names: dict[str, set] = {}
    for s in gold.atoms(sympy.Symbol) | pred.atoms(sympy.Symbol):
        names.setdefault(s.name, set()).add(s)
    if not floats and all(len(same) == 1 for same in names.values()):
        return None

    def canonical(expr):
        ints = {f: sympy.Integer(int(f)) for f in expr.atoms(sympy.Float) if f == int(f)}
        return expr.xreplace({**ints, **{s: sympy.Symbol(s.name) for s in expr.atoms(sympy.Symbol)}})

    return canonical(gold), canonical(pred)


def numeric_value(expr) -> Fraction | None:
    """A constant's value as a Fraction (30 significant digits), or None when it is not a real number."""
    import sympy

    if not isinstance(expr, sympy.Expr) or expr.free_symbols or not expr.is_number:
        return None
    try:
        value = expr.evalf(30)
        if not value.is_real or not value.is_finite:
            return None
        return Fraction(str(sympy.Float(value, 30)))
    except (TypeError, ValueError, ArithmeticError):
        return None
