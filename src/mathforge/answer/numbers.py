"""The exact fast path: plain-number answers as :class:`fractions.Fraction`, compared exactly.

A decimal literal only gets slack where it must: float noise, a rounded decimal of a non-terminating
fraction (``0.333333`` for 1/3, ``33.3`` for 100/3), or a per-problem tolerance (:class:`GradeOptions`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from fractions import Fraction

from mathforge.answer.options import NO_OPTIONS, GradeOptions

# Longest string the fast path will turn into a number; longer ones go to math-verify (inside the pool).
MAX_FAST_LEN = 200
# |exponent| bound for scientific notation on the fast path: 1e999999999 must not build a huge integer.
MAX_EXPONENT = 400
# decimals that agree with a non-terminating fraction to this many places are accepted (math-verify's default)
ROUND_PLACES = 6
# relative tolerance between two decimal literals (printing a float gives ~17 significant digits); purely
# relative: an absolute floor would make every pair of numbers below it equal (6.63e-34 vs 1e-35)
FLOAT_NOISE = Fraction(1, 10**9)
# a rounded gold (33.3) accepts the exact fraction it rounds (100/3) only with this many significant digits:
# 0.3 may well be the exact answer, and then 1/3 is wrong
ROUNDED_GOLD_DIGITS = 3


@dataclass(frozen=True)
class Number:
    value: Fraction
    decimal: bool  # written as a decimal literal (an approximation), not an integer or a fraction
    exponent: int | None = None  # a decimal literal's last digit is 10**exponent (1.6 -> -1, 4.5e33 -> 32)
    digits: int | None = None  # a decimal literal's significant digits (1.6 -> 2, 0.0025 -> 2)


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
# mixed numbers: "1 1/4", "2\frac{1}{2}" (MATH's prealgebra writes them so); only a proper fraction part,
# so "4 10/3" stays unparsed rather than becoming a number it never meant
_MIXED_RE = re.compile(
    r"^([-+]?)(\d+)(?:\s+(\d+)\s*/\s*(\d+)|\s*\\[dt]?frac\s*(?:\{\s*(\d+)\s*\}|(\d))\s*(?:\{\s*(\d+)\s*\}|(\d)))$"
)
_QUOTES_RE = re.compile(r"^(['\"`])(.*)\1$")


def normalize_number_text(text: str) -> str:
    """Strip what does not change a plain number's value: ``$``, units, degrees, spacing, ``x =``, ``%``."""
    s = text.strip()
    m = _QUOTES_RE.match(s)  # '42' printed by a program
    if m:
        s = m.group(2).strip()
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


def parse_number(text: str | None) -> Number | None:
    """The exact value of a plain-number answer, or ``None`` when it is not one (then math-verify decides)."""
    if text is None or len(text) > MAX_FAST_LEN:
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
        return Number(-value if m.group(1) == "-" else value, decimal=False)
    m = _SLASH_RE.match(s)
    if m:
        if int(m.group(2)) == 0:
            return None
        return Number(Fraction(int(m.group(1)), int(m.group(2))), decimal=False)
    m = _MIXED_RE.match(s)
    if m:
        num = int(m.group(3) or m.group(5) or m.group(6))
        den = int(m.group(4) or m.group(7) or m.group(8))
        if not 0 < num < den:
            return None
        value = int(m.group(2)) + Fraction(num, den)
        return Number(-value if m.group(1) == "-" else value, decimal=False)
    return None


def _decimal(s: str) -> Number | None:
    try:
        d = Decimal(s)
    except InvalidOperation:
        return None
    if not d.is_finite() or abs(d.as_tuple().exponent) > MAX_EXPONENT + 40:
        return None
    if d != 0 and abs(d.adjusted()) > MAX_EXPONENT:
        return None
    is_decimal = "." in s or "e" in s.lower()
    if not is_decimal:
        return Number(Fraction(d), decimal=False)
    # as written: 1.60 has 3 significant digits, 0.0025 has 2, 4.5e33 has 2
    return Number(Fraction(d), decimal=True, exponent=d.as_tuple().exponent, digits=len(d.as_tuple().digits))


def terminates(value: Fraction) -> bool:
    den = value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    return den == 1


def _rounds_to(value: Fraction, gold: Number) -> bool:
    """``value`` rounded (half up) at the gold's last written digit equals the gold: 1.5708 -> 1.6."""
    if gold.exponent is None:
        return False
    with localcontext() as ctx:
        ctx.prec = 60
        approx = Decimal(value.numerator) / Decimal(value.denominator)
        return approx.quantize(Decimal(1).scaleb(gold.exponent), rounding=ROUND_HALF_UP) == Fraction(
            gold.value
        )


def numbers_equal(
    pred: Number,
    gold: Number,
    percent: bool = False,
    options: GradeOptions = NO_OPTIONS,
) -> bool:
    targets = [gold.value]
    if percent:
        targets += [gold.value * 100, gold.value / 100]
    return any(_value_equal(pred.value, pred, gold, t, options) for t in targets)


def _value_equal(
    value: Fraction, pred: Number, gold: Number, target: Fraction, options: GradeOptions
) -> bool:
    if value == target:
        return True
    if options.abs_tol is not None and abs(value - target) <= Fraction(str(options.abs_tol)):
        return True
    if options.rel_tol is not None and abs(value - target) <= Fraction(str(options.rel_tol)) * abs(target):
        return True
    if options.sig_figs and gold.decimal and target == gold.value and _rounds_to(value, gold):
        return True
    if pred.decimal or gold.decimal:
        if abs(value - target) <= FLOAT_NOISE * abs(target):  # float noise: 3244047.0999999996 vs 3244047.1
            return True
        # a rounded decimal of a non-terminating fraction: 0.333333 vs 1/3
        if pred.decimal and not terminates(target):
            scale = 10**ROUND_PLACES
            if round(value * scale) == round(target * scale):
                return True
        # the exact fraction of a rounded gold: 100/3 vs 33.3 (3+ significant digits, see ROUNDED_GOLD_DIGITS)
        if (
            gold.decimal
            and not pred.decimal
            and target == gold.value
            and not terminates(value)
            and (gold.digits or 0) >= ROUNDED_GOLD_DIGITS
            and _rounds_to(value, gold)
        ):
            return True
    return False
