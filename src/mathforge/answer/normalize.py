"""Text fixes applied before math-verify parses an answer, for LaTeX it misreads (from its bug reports).

Each rule changes presentation only: ``\\sqrt(2)`` means ``\\sqrt{2}`` (math-verify read ``4\\sqrt(2)`` as
4, Math-Verify#41); ``\\mathrm{e}`` is Euler's number (its unit stripping deleted it, turning
``1 - \\frac{1}{\\mathrm{e}}`` into 1, Math-Verify#14); ``14.0 + -1.0i`` is ``14.0 - 1.0i``; markdown bold
around an answer (``**73**``, Math-Verify#76) and quotes from a program's printout are not part of it.
"""

from __future__ import annotations

import re

_MARKDOWN_RE = re.compile(r"^(\*\*|__|\*|`)(.+)\1$", re.S)
_QUOTES_RE = re.compile(r"^(['\"])(.*)\1$", re.S)
_MATHRM_CONST_RE = re.compile(r"\\(?:mathrm|text|rm)\s*\{\s*([ei])\s*\}")
_PLUS_MINUS_RE = re.compile(r"(?<=\S)\s*\+\s*-\s*")
_ELLIPSIS_RE = re.compile(r"\\[lc]?dots\b|\\ldotp|\.\.\.|…")
_LETTER_TEXT_RE = re.compile(r"\\(?:text|textbf|mathrm|mathbf|mbox)\s*\{([^{}]*)\}")
_CHOICE_ONLY_RE = re.compile(r"^\(?\s*([A-K])\s*\)?\s*[.:]?$")
_CHOICE_STATED_RE = re.compile(
    r"\b(?:option|choice|answer)\s*(?:is\s*)?[:：]?\s*\(?\s*([A-K])\s*\)?(?![A-Za-z0-9])", re.I
)


def strip_wrappers(text: str) -> str:
    """``**73**`` -> ``73``; ``'42'`` -> ``42`` (repeatedly: ``**'42'**``)."""
    s = text.strip()
    while True:
        m = _MARKDOWN_RE.match(s) or _QUOTES_RE.match(s)
        if not m:
            return s
        s = m.group(2).strip()


def _sqrt_parens(s: str) -> str:
    """``\\sqrt(2x)`` -> ``\\sqrt{2x}`` (balanced parentheses; anything else left alone)."""
    out, i = [], 0
    while True:
        j = s.find("\\sqrt(", i)
        if j < 0:
            out.append(s[i:])
            return "".join(out)
        depth, k = 0, j + len("\\sqrt")
        for k in range(j + len("\\sqrt"), len(s)):
            depth += {"(": 1, ")": -1}.get(s[k], 0)
            if depth == 0:
                break
        if depth != 0:
            out.append(s[i:])
            return "".join(out)
        start = j + len("\\sqrt(")
        out.append(s[i:j] + "\\sqrt{" + s[start:k] + "}")
        i = k + 1


def prepare_latex(text: str) -> str:
    """The answer as math-verify should see it (see the module docstring for each rule)."""
    s = strip_wrappers(text)
    s = _sqrt_parens(s)
    s = _MATHRM_CONST_RE.sub(lambda m: m.group(1), s)
    s = _PLUS_MINUS_RE.sub(" - ", s)
    return s


def has_ellipsis(text: str) -> bool:
    """Sequences like ``1, 2, \\ldots, n``: math-verify drops the ellipsis and compares what is left
    (Math-Verify#14 found ``1, 3, 5, \\ldots, 2n-1`` equal to ``1, 2, \\ldots, n``)."""
    return bool(_ELLIPSIS_RE.search(text))


def choice_letter(text: str, *, stated: bool = False) -> str | None:
    """The multiple-choice letter ``text`` gives: ``C``, ``(C)``, ``\\text{(C)}``, ``\\textbf{(C) }``;
    with ``stated=True`` also "The correct option is (B)." (Qwen2.5-Math's choice_answer_clean)."""
    s = strip_wrappers(text).replace("$", "")
    s = _LETTER_TEXT_RE.sub(lambda m: m.group(1), s).strip()
    m = _CHOICE_ONLY_RE.match(s)
    if m:
        return m.group(1)
    if stated and len(s) <= 80:
        found = _CHOICE_STATED_RE.findall(s)
        if found:
            return found[-1].upper()
    return None
