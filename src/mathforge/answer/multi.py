"""Multi-answer golds (``$69$,$84$``, ``1,3,5``, ``5 or 9``): split into answers, then pair them up.

The rule is OlympiadBench's own judge (eval/auto_scoring_judge.py): split on commas outside brackets,
expand ``\\pm`` into both signs, then every gold answer must pair with a distinct predicted answer and
nothing may be left over, in any order. Tuples and intervals stay whole: ``(1,8,19), (2,7,13)`` is two
answers and ``(8,1,19)`` does not pair with ``(1,8,19)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_DOLLAR_RE = re.compile(r"(?<!\\)\$")
_WORD_SEP_RE = re.compile(r"\\text\s*\{\s*(?:and|or)\s*\}|\\(?:quad|qquad)|\s+(?:and|or)\s+|;", re.I)
_OPEN, _CLOSE = "([{", ")]}"
# a gold of this many answers or more is not paired element by element (cost grows with the square)
MAX_PARTS = 40


def _top_level_split(s: str, sep: str = ",") -> list[str]:
    parts, depth, start = [], 0, 0
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "\\" and i + 1 < len(s) and s[i + 1] in "{}":
            depth += 1 if s[i + 1] == "{" else -1  # \{ \} are set braces: a set stays one answer
            i += 2
            continue
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(s[start:i])
            start = i + 1
        i += 1
    parts.append(s[start:])
    return parts


def _unwrap_set(s: str) -> str:
    """``\\{1, 3, 5\\}`` written for the list ``1, 3, 5``: the braces go when they enclose everything."""
    for left, right in (("\\left\\{", "\\right\\}"), ("\\{", "\\}")):
        if s.startswith(left) and s.endswith(right):
            inner = s[len(left) : -len(right)]
            if len(_top_level_split(inner)) > 1:
                return inner.strip()
    return s


def _expand_pm(part: str) -> list[str]:
    if "\\pm" not in part and "\\mp" not in part:
        return [part]
    return [part.replace("\\pm", "+").replace("\\mp", "-"), part.replace("\\pm", "-").replace("\\mp", "+")]


def split_answers(text: str) -> list[str]:
    """``$69$,$84$`` -> ``["69", "84"]``; ``f(x)=x,f(x)=-x`` -> two; ``1 \\pm \\sqrt{19}`` -> two."""
    s = _DOLLAR_RE.sub("", str(text)).strip().rstrip(".").strip()
    s = _unwrap_set(s)
    parts: list[str] = []
    for chunk in _top_level_split(s):
        for piece in _WORD_SEP_RE.split(chunk):
            piece = piece.strip()
            if piece:
                parts.extend(p.strip() for p in _expand_pm(piece))
    return parts


def normalize_tuple(text: str) -> list[str] | None:
    """``(1, 8, 19)`` / ``\\left(1,8,19\\right)`` -> its entries; None unless one parenthesized tuple."""
    s = _DOLLAR_RE.sub("", str(text)).replace("\\left(", "(").replace("\\right)", ")").strip()
    if not (s.startswith("(") and s.endswith(")")) or len(_top_level_split(s)) != 1:
        return None
    entries = [e.strip() for e in _top_level_split(s[1:-1])]
    return entries if len(entries) > 1 and all(entries) else None


def all_paired(preds: list[str], golds: list[str], equal: Callable[[str, str], bool]) -> bool:
    """Every gold pairs with a distinct pred under ``equal`` and none is left over (greedy, in gold order;
    identical strings are paired first so the common case costs no grading)."""
    if len(preds) != len(golds) or not golds:
        return False
    free = list(preds)
    unmatched = []
    for g in golds:
        if g in free:
            free.remove(g)
        else:
            unmatched.append(g)
    for g in unmatched:
        for p in free:
            if equal(p, g):
                free.remove(p)
                break
        else:
            return False
    return True
