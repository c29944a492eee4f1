"""Is a predicted answer equivalent to the gold answer?

Two layers:
- a fast, exact path for plain numbers (``1,000``, ``$5``, ``12 cm``, ``30^\\circ``, ``\\frac{3}{4}``, ``1.5e3``,
  ``x = 3``): both sides become :class:`fractions.Fraction` and are compared exactly; a decimal literal only
  gets a tolerance where it must (float noise, or a rounded decimal of a non-terminating fraction);
- math-verify for everything else (LaTeX, symbolic, tuples, intervals, sets, matrices), with its own signal
  timeouts disabled (the :class:`~mathforge.answer.Grader` pool kills runaway pairs) and an exact rational
  veto: math-verify compares numbers after rounding, so it calls ``\\frac{1}{2004!}`` equal to
  ``\\frac{1}{2006!}``; when both sides are exact rationals we compare them exactly instead.

Percentage leniency (gold x 100 or gold / 100 accepted, as ToRA does) is off unless ``percent=True``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

# Longest string the fast path will turn into a number; longer ones go to math-verify (inside the pool).
_MAX_FAST_LEN = 200
# |exponent| bound for scientific notation on the fast path: 1e999999999 must not build a huge integer.
_MAX_EXPONENT = 400
# decimals that agree with a non-terminating fraction to this many places are accepted (math-verify's default)
_ROUND_PLACES = 6
# relative tolerance between two decimal literals (printing a float gives ~17 significant digits)
_FLOAT_NOISE = Fraction(1, 10**9)


@dataclass(frozen=True)
class _Number:
    value: Fraction
    decimal: bool  # written as a decimal literal (an approximation), not an integer or a fraction


_TEXT_UNIT_RE = re.compile(r"\\(?:text|textbf|mbox|mathrm|operatorname)\s*\{\s*([^{}]*)\}(?:\^\{?\d\}?)?")
_THIN_SPACE_RE = re.compile(r"\\[!,]")  # 15,\!000 and 1\,000 are thousands separators
_SPACING_RE = re.compile(r"\\[;: ]|~|\\quad|\\qquad")
_DEGREE_RE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree|\\circ")
_ASSIGN_RE = re.compile(r"^[A-Za-z](?:_\{?\w+\}?)?\s*=\s*")
_WORD_UNIT_RE = re.compile(r"(?<=[\d.])\s+[A-Za-z][A-Za-z .'/]*$")
_THOUSANDS_RE = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_PLAIN_RE = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_TIMES_TEN_RE = re.compile(
    r"^([-+]?(?:\d+\.?\d*|\.\d+))\s*(?:\\times|\\cdot|\*|x)\s*10\s*\^\s*\{?\s*([-+]?\d+)\s*\}?$"
)
_FRAC_RE = re.compile(r"^([-+]?)\\[dt]?frac\s*(?:\{\s*([-+]?\d+)\s*\}|(\d))\s*(?:\{\s*(\d+)\s*\}|(\d))$")
_SLASH_RE = re.compile(r"^([-+]?\d+)\s*/\s*(\d+)$")


def normalize_number_text(text: str) -> str:
    """Strip what does not change a plain number's value: ``$``, units, degrees, spacing, ``x =``, ``%``."""
    s = text.strip()
    s = s.replace("\\$", "").replace("$", "")
    s = re.sub(r"\\left|\\right", "", s)
    s = _THIN_SPACE_RE.sub("", s)
    s = _SPACING_RE.sub(" ", s)
    s = _DEGREE_RE.sub("", s)
    s = s.replace("\\%", "").replace("%", "")
    s = s.replace("{,}", ",")
    s = _TEXT_UNIT_RE.sub(lambda m: "" if re.fullmatch(r"[A-Za-z .'/]*", m.group(1)) else m.group(1), s)
    s = s.strip()
    s = _ASSIGN_RE.sub("", s)
    s = _WORD_UNIT_RE.sub("", s)
    s = s.strip().rstrip(".").strip()
    if s.startswith("(") and s.endswith(")") and "," not in s:
        s = s[1:-1].strip()
    return s


def parse_number(text: str | None) -> _Number | None:
    """The exact value of a plain-number answer, or ``None`` when it is not one (then math-verify decides)."""
    if text is None or len(text) > _MAX_FAST_LEN:
        return None
    s = normalize_number_text(str(text))
    if not s:
        return None
    if _THOUSANDS_RE.match(s):
        s = s.replace(",", "")
    if _PLAIN_RE.match(s):
        return _decimal(s)
    m = _TIMES_TEN_RE.match(s)
    if m:
        return _decimal(f"{m.group(1)}e{m.group(2)}")
    m = _FRAC_RE.match(s)
    if m:
        num = int(m.group(2) or m.group(3))
        den = int(m.group(4) or m.group(5))
        if den == 0:
            return None
        value = Fraction(num, den)
        return _Number(-value if m.group(1) == "-" else value, decimal=False)
    m = _SLASH_RE.match(s)
    if m:
        if int(m.group(2)) == 0:
            return None
        return _Number(Fraction(int(m.group(1)), int(m.group(2))), decimal=False)
    return None


def _decimal(s: str) -> _Number | None:
    try:
        d = Decimal(s)
    except InvalidOperation:
        return None
    if not d.is_finite() or abs(d.as_tuple().exponent) > _MAX_EXPONENT + 40:
        return None
    if d != 0 and abs(d.adjusted()) > _MAX_EXPONENT:
        return None
    return _Number(Fraction(d), decimal="." in s or "e" in s.lower())


def _terminates(value: Fraction) -> bool:
    den = value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    return den == 1


def numbers_equal(pred: _Number, gold: _Number, percent: bool = False) -> bool:
    targets = [gold.value]
    if percent:
        targets += [gold.value * 100, gold.value / 100]
    for target in targets:
        if pred.value == target:
            return True
        if pred.decimal or gold.decimal:
            # float noise: 3244047.0999999996 vs 3244047.1
            if abs(pred.value - target) <= _FLOAT_NOISE * max(1, abs(target)):
                return True
            # a rounded decimal of a non-terminating fraction: 0.333333 vs 1/3
            if pred.decimal and not _terminates(target):
                scale = 10**_ROUND_PLACES
                if round(pred.value * scale) == round(target * scale):
                    return True
    return False


_LIGHT_RE = re.compile(r"\s+|\\left|\\right|\\!|\\,|\\;|\\:|\$")


def _light_normal(s: str) -> str:
    s = _LIGHT_RE.sub("", s)
    return s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").rstrip(".")


def is_equiv(pred, gold, *, percent: bool = False) -> bool:
    """True when ``pred`` means the same answer as ``gold``. Never raises on garbage input (returns False).

    Runs in-process and may be slow on adversarial input (huge powers): grade model output at scale with
    :class:`mathforge.answer.Grader`, which kills a pair that runs past its timeout.
    """
    try:
        return _is_equiv(pred, gold, percent)
    except Exception:  # a grader must not crash on a model's garbage
        logging.getLogger(__name__).debug("is_equiv failed on %r vs %r", pred, gold, exc_info=True)
        return False


def fast_verdict(pred, gold, percent: bool = False) -> bool | None:
    """The verdict of the exact fast path, or ``None`` when the pair needs math-verify."""
    if pred is None or gold is None:
        return False
    pred, gold = str(pred).strip(), str(gold).strip()
    if not pred or not gold:
        return False
    based = _base_verdict(pred, gold)
    if based is not None:
        return based
    p, g = parse_number(pred), parse_number(gold)
    if p is not None and g is not None:
        return numbers_equal(p, g, percent)
    if _light_normal(pred) == _light_normal(gold):
        return True
    return None


_BASE_RE = re.compile(r"^([0-9A-Za-z]+)_\{?\(?(\d+)\)?\}?$")


def _base_verdict(pred: str, gold: str) -> bool | None:
    """Numbers written in a base (MATH: ``2516_8``): math-verify drops the subscript, so 2516_9 would pass.

    Same digits and same base -> True; a different base -> False; a bare ``2516`` for ``2516_8`` -> True.
    """
    g = _BASE_RE.match(normalize_number_text(gold))
    if g is None or not _valid_in_base(g.group(1), int(g.group(2))):
        return None  # x_1 is a variable, not a number in base 1
    p_text = normalize_number_text(pred)
    p = _BASE_RE.match(p_text)
    if p is not None:
        return p.group(1).upper() == g.group(1).upper() and int(p.group(2)) == int(g.group(2))
    return p_text.upper() == g.group(1).upper()


def _valid_in_base(digits: str, base: int) -> bool:
    if not 2 <= base <= 36:
        return False
    try:
        int(digits, base)
    except ValueError:
        return False
    return True


def _is_equiv(pred, gold, percent: bool) -> bool:
    verdict = fast_verdict(pred, gold, percent)
    if verdict is not None:
        return verdict
    return math_verify_equiv(str(pred).strip(), str(gold).strip(), percent)


def parse_answer(text: str):
    """The parsed form of an answer: a Fraction for a plain number, else math-verify's first parse
    (a sympy object, or a normalised string for text answers); None when nothing parses."""
    number = parse_number(text)
    if number is not None:
        return number.value
    from math_verify import parse

    _quiet_math_verify()
    parsed = parse(_wrap(str(text).strip()), parsing_timeout=None) if str(text).strip() else []
    return parsed[0] if parsed else None


def _wrap(s: str) -> str:
    """math-verify's LaTeX extractor needs math delimiters; add ``$...$`` unless some are there."""
    if re.search(r"(?<!\\)\$", s) or "\\(" in s or "\\[" in s:  # an escaped \$ is a dollar sign
        return s
    return f"${s}$"


def math_verify_equiv(pred: str, gold: str, percent: bool = False) -> bool:
    """math-verify's verdict with its signal timeouts off, vetoed by exact rational comparison."""
    from math_verify import parse, verify

    _quiet_math_verify()
    gold_parsed = parse(_wrap(gold), parsing_timeout=None)
    pred_parsed = parse(_wrap(pred), parsing_timeout=None)
    if not gold_parsed or not pred_parsed:
        return False
    if verify(gold_parsed, pred_parsed, timeout_seconds=None):
        return not _exact_conflict(gold_parsed[0], pred_parsed[0])
    # a program's printout in sympy syntax (pi/2, x**2 + 1, sqrt(3)*I): read it as sympy, retry as LaTeX
    as_latex = python_expr_to_latex(pred)
    if as_latex is not None:
        alt = parse(_wrap(as_latex), parsing_timeout=None)
        if alt and verify(gold_parsed, alt, timeout_seconds=None):
            return not _exact_conflict(gold_parsed[0], alt[0])
    if percent:
        import sympy

        g = gold_parsed[0]
        if isinstance(g, sympy.Expr) and g.is_number:
            for scaled in (g * 100, g / 100):
                if verify([scaled], pred_parsed, timeout_seconds=None):
                    return not _exact_conflict(scaled, pred_parsed[0])
    return False


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
    if not _PY_CHARS_RE.match(text) or not _PY_MARKER_RE.search(text) or len(text) > _MAX_FAST_LEN:
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


def _exact_conflict(gold, pred) -> bool:
    """True when both are exact rationals (or same-shaped tuples/matrices/sets of them) that differ."""
    import sympy

    if isinstance(gold, sympy.MatrixBase) and isinstance(pred, sympy.MatrixBase):
        if gold.shape != pred.shape:
            return False
        return any(_exact_conflict(g, p) for g, p in zip(gold, pred, strict=True))
    if isinstance(gold, sympy.Tuple) and isinstance(pred, sympy.Tuple):
        if len(gold) != len(pred):
            return False
        return any(_exact_conflict(g, p) for g, p in zip(gold.args, pred.args, strict=True))
    if isinstance(gold, sympy.FiniteSet) and isinstance(pred, sympy.FiniteSet):
        gs, ps = _exact_rationals(gold.args), _exact_rationals(pred.args)
        return gs is not None and ps is not None and set(gs) != set(ps)
    g, p = _exact_rational(gold), _exact_rational(pred)
    return g is not None and p is not None and g != p


def _exact_rationals(items) -> list | None:
    values = [_exact_rational(x) for x in items]
    return None if any(v is None for v in values) else values


def _exact_rational(expr):
    """``expr`` evaluated to a sympy Rational when it is an exact (Float-free) rational constant, else None."""
    import sympy

    if not isinstance(expr, sympy.Expr) or expr.free_symbols or expr.has(sympy.Float):
        return None
    value = expr.doit()
    return value if value.is_Rational else None


_QUIETED = False


def _quiet_math_verify() -> None:
    """math-verify warns once that its timeout is off (the Grader pool enforces time) and logs parse errors."""
    global _QUIETED
    if not _QUIETED:
        for name in ("math_verify", "math_verify.parser", "math_verify.grader", "latex2sympy2_extended"):
            logging.getLogger(name).setLevel(logging.ERROR)
        _QUIETED = True
