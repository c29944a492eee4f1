"""Is a predicted answer equivalent to the gold answer?

Two layers:
- a fast, exact path for plain numbers (``1,000``, ``$5``, ``12 cm``, ``30^\\circ``, ``\\frac{3}{4}``, ``1.5e3``,
  ``x = 3``, ``1 1/4``): both sides become :class:`fractions.Fraction` and are compared exactly
  (:mod:`mathforge.answer.numbers`); plus numbers in a base and multiple-choice letters;
- math-verify for everything else (LaTeX, symbolic, tuples, intervals, sets, matrices), with its own signal
  timeouts disabled (the :class:`~mathforge.answer.Grader` pool kills runaway pairs), the LaTeX it misreads
  fixed first (:mod:`mathforge.answer.normalize`), an exact rational veto and retries
  (:mod:`mathforge.answer.symbolic`).

Percentage leniency (gold x 100 or gold / 100 accepted, as ToRA does) is off unless ``percent=True``; a %
sign is read as a unit (``50\\%`` is 50).
Per-problem options (tolerances, multi-answer golds) come as :class:`~mathforge.answer.GradeOptions`.
"""

from __future__ import annotations

import logging
import re

from mathforge.answer.multi import MAX_PARTS, all_paired, normalize_tuple, split_answers
from mathforge.answer.normalize import choice_letter, has_ellipsis, prepare_latex, strip_wrappers
from mathforge.answer.numbers import (  # noqa: F401  (re-exported: the fast path's public names)
    MAX_FAST_LEN,
    Number,
    normalize_number_text,
    numbers_equal,
    parse_number,
)
from mathforge.answer.options import GradeOptions
from mathforge.answer.symbolic import (  # noqa: F401  (python_expr_to_latex is re-exported)
    canonical_pair,
    exact_conflict,
    numeric_value,
    python_expr_to_latex,
    solution_sets,
)

_LIGHT_RE = re.compile(r"\s+|\\left|\\right|\\!|\\,|\\;|\\:|\$")
_TEXT_WRAP_RE = re.compile(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}")


def _light_normal(s: str) -> str:
    s = _LIGHT_RE.sub("", strip_wrappers(s))
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").rstrip(".")
    return re.sub(r"\\[lc]?dots", "...", s)


def _text_answer(s: str) -> str | None:
    """A word answer (``\\text{East}``, ``Evelyn``) lower-cased, for a case-insensitive comparison."""
    inner = _TEXT_WRAP_RE.sub(lambda m: m.group(1), strip_wrappers(s).replace("$", "")).strip()
    # two letters at least: a lone x and X are different variables, not one word in two cases
    return inner.lower() if re.fullmatch(r"[A-Za-z][A-Za-z \-']+", inner) else None


def _tuple_verdict(pred: str, gold: str, percent: bool, options: GradeOptions) -> bool | None:
    """``(1,8,19)`` vs ``(2,7,13)``: two parenthesized tuples of plain numbers, compared entry by entry
    (multi-answer golds list many; sending each pair to math-verify would cost a parse per pair)."""
    p, g = normalize_tuple(pred), normalize_tuple(gold)
    if p is None or g is None:
        return None
    if len(p) != len(g):
        return False
    numbers = [(parse_number(a), parse_number(b)) for a, b in zip(p, g, strict=True)]
    if any(a is None or b is None for a, b in numbers):
        return None
    return all(numbers_equal(a, b, percent, options) for a, b in numbers)


def is_equiv(
    pred,
    gold,
    *,
    percent: bool = False,
    rel_tol: float | None = None,
    abs_tol: float | None = None,
    sig_figs: bool = False,
    multi_answer: bool = False,
) -> bool:
    """True when ``pred`` means the same answer as ``gold``. Never raises on garbage input (returns False).

    The keyword options are :class:`~mathforge.answer.GradeOptions` (a dataset's ``meta["grading"]``).
    Runs in-process and may be slow on adversarial input (huge powers): grade model output at scale with
    :class:`mathforge.answer.Grader`, which kills a pair that runs past its timeout.
    """
    try:
        options = GradeOptions(rel_tol=rel_tol, abs_tol=abs_tol, sig_figs=sig_figs, multi_answer=multi_answer)
        return slow_verdict(pred, gold, percent, options)
    except Exception:  # a grader must not crash on a model's garbage
        logging.getLogger(__name__).debug("is_equiv failed on %r vs %r", pred, gold, exc_info=True)
        return False


def fast_verdict(
    pred, gold, percent: bool = False, options: GradeOptions | dict | None = None
) -> bool | None:
    """The verdict of the cheap rules (no sympy), or ``None`` when the pair needs math-verify."""
    if pred is None or gold is None:
        return False
    pred, gold = str(pred).strip(), str(gold).strip()
    if not pred or not gold:
        return False
    options = GradeOptions.coerce(options)
    if options.multi_answer:
        single = _single(options)
        return _multi_verdict(pred, gold, lambda p, g: fast_verdict(p, g, percent, single))
    based = _base_verdict(pred, gold)
    if based is not None:
        return based
    letter = choice_letter(gold)  # C, (C), \text{(C)}: a multiple-choice gold
    if letter is not None:
        return choice_letter(pred, stated=True) == letter
    p, g = parse_number(pred), parse_number(gold)
    if p is not None and g is not None:
        return numbers_equal(p, g, percent, options)
    entries = _tuple_verdict(pred, gold, percent, options)
    if entries is not None:
        return entries
    if _light_normal(pred) == _light_normal(gold):
        return True
    words = _text_answer(gold)
    if words is not None and words == _text_answer(pred):
        return True
    return None


def _single(options: GradeOptions) -> GradeOptions:
    return GradeOptions(rel_tol=options.rel_tol, abs_tol=options.abs_tol, sig_figs=options.sig_figs)


def _multi_verdict(pred: str, gold: str, equal) -> bool | None:
    """All answers of a multi-answer gold, any order, nothing extra; None when a pair needs math-verify."""
    golds, preds = split_answers(gold), split_answers(pred)
    if len(golds) > MAX_PARTS:
        return None
    if len(golds) <= 1:
        return equal(pred, gold)  # a single answer after all: graded as usual
    undecided = False

    def decided(p, g):
        nonlocal undecided
        verdict = equal(p, g)
        undecided = undecided or verdict is None
        return bool(verdict)

    if all_paired(preds, golds, decided):
        return True
    return None if undecided else False


def slow_verdict(
    pred, gold, percent: bool = False, options: GradeOptions | dict | None = None, *, fast: bool = True
) -> bool:
    """The full verdict: the cheap rules, then math-verify (what a Grader worker runs for a pair).

    ``fast=False`` sends every (part of a) pair to math-verify: a test of what math-verify itself parses.
    """
    if pred is None or gold is None:
        return False
    pred, gold = str(pred).strip(), str(gold).strip()
    options = GradeOptions.coerce(options)
    if options.multi_answer:
        single = _single(options)
        golds, preds = split_answers(gold), split_answers(pred)
        if 1 < len(golds) <= MAX_PARTS:
            return all_paired(preds, golds, lambda p, g: slow_verdict(p, g, percent, single, fast=fast))
        options = single
    if fast:
        verdict = fast_verdict(pred, gold, percent, options)
        if verdict is not None:
            return verdict
    return math_verify_equiv(pred, gold, percent, options)


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


def parse_answer(text: str):
    """The parsed form of an answer: a Fraction for a plain number, else math-verify's first parse
    (a sympy object, or a normalised string for text answers); None when nothing parses."""
    number = parse_number(text)
    if number is not None:
        return number.value
    from math_verify import parse

    _quiet_math_verify()
    text = prepare_latex(str(text).strip())
    parsed = parse(_wrap(text), parsing_timeout=None) if text else []
    return parsed[0] if parsed else None


def _wrap(s: str) -> str:
    """math-verify's LaTeX extractor needs math delimiters; add ``$...$`` unless some are there."""
    if re.search(r"(?<!\\)\$", s) or "\\(" in s or "\\[" in s:  # an escaped \$ is a dollar sign
        return s
    return f"${s}$"


def math_verify_equiv(
    pred: str, gold: str, percent: bool = False, options: GradeOptions | dict | None = None
) -> bool:
    """math-verify's verdict with its signal timeouts off, vetoed by exact rational comparison, retried
    where it misreads (see :mod:`mathforge.answer.symbolic`) and with the per-problem tolerances."""
    from math_verify import parse, verify

    _quiet_math_verify()
    options = GradeOptions.coerce(options)
    pred, gold = prepare_latex(pred), prepare_latex(gold)
    if has_ellipsis(pred) or has_ellipsis(gold):
        return _light_normal(pred) == _light_normal(gold)  # a sequence with "...": only the same text
    gold_parsed = parse(_wrap(gold), parsing_timeout=None)
    pred_parsed = parse(_wrap(pred), parsing_timeout=None)
    if not gold_parsed or not pred_parsed:
        return False

    def agrees(g, p) -> bool:
        return bool(verify(g, p, timeout_seconds=None)) and not exact_conflict(g[0], p[0])

    if agrees(gold_parsed, pred_parsed):
        return True
    # a program's printout in sympy syntax (pi/2, x**2 + 1, sqrt(3)*I): read it as sympy, retry as LaTeX
    as_latex = python_expr_to_latex(pred)
    if as_latex is not None:
        alt = parse(_wrap(as_latex), parsing_timeout=None)
        if alt and agrees(gold_parsed, alt):
            return True
        pred_parsed = alt or pred_parsed
    g, p = gold_parsed[0], pred_parsed[0]
    sets = solution_sets(g, p)
    if sets is not None:
        return agrees([sets[0]], [sets[1]])
    canonical = canonical_pair(g, p)
    if canonical is not None and agrees([canonical[0]], [canonical[1]]):
        return True
    if percent or options.numeric_slack:
        return _numeric_retry(pred, gold, g, p, percent, options)
    return False


def _numeric_retry(pred: str, gold: str, g, p, percent: bool, options: GradeOptions) -> bool:
    """Both sides are constants: compare their values with the fast path's number rules."""
    pv, gv = numeric_value(p), numeric_value(g)
    if pv is None or gv is None:
        return False
    gold_number = parse_number(gold) or Number(gv, decimal=False)
    return numbers_equal(Number(pv, decimal=False), gold_number, percent, options)


_QUIETED = False


def _quiet_math_verify() -> None:
    """math-verify warns once that its timeout is off (the Grader pool enforces time) and logs parse errors."""
    global _QUIETED
    if not _QUIETED:
        for name in ("math_verify", "math_verify.parser", "math_verify.grader", "latex2sympy2_extended"):
            logging.getLogger(name).setLevel(logging.ERROR)
        _QUIETED = True
