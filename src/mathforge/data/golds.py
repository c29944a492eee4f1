"""Gold answers as datasets write them -> the answer a grader compares against.

Only presentation goes: math delimiters (``$\\frac{1}{2}$``, ``$48$, $384$``), a sentence period after the
math (``$(-\\infty, 0)$.``), zero padding of integer answers (AIME's ``025``). The raw gold stays in
``Problem.meta["raw_gold"]`` and each change is named in ``meta["gold_normalized"]``.
"""

from __future__ import annotations

import re

# an unescaped dollar: `\$` is a dollar sign in LaTeX (college_math: `$\$ 3040$`), not a math delimiter
_DOLLAR_RE = re.compile(r"(?<!\\)\$")
_PAREN_MATH_RE = re.compile(r"^\\[(\[](.*)\\[)\]]$", re.S)
_ZERO_PADDED_RE = re.compile(r"^0+(\d+)$")


def dollar_spans(text: str) -> int:
    """How many ``$...$`` spans ``text`` has (``$$`` counts as one delimiter)."""
    return len(_DOLLAR_RE.findall(text.replace("$$", "$"))) // 2


def strip_math_delimiters(text: str) -> str:
    """``$\\frac{1}{2}$`` -> ``\\frac{1}{2}``; ``$5$ or $9$`` -> ``5 or 9``; ``\\(x\\)`` -> ``x``."""
    s = text.strip()
    m = _PAREN_MATH_RE.match(s)
    if m:
        s = m.group(1)
    return re.sub(r"\s{2,}", " ", _DOLLAR_RE.sub("", s)).strip()


def clean_gold(raw: str, *, integer_answers: bool = False) -> tuple[str, list[str]]:
    """The gold with presentation removed, and the names of what was removed (empty when nothing was).

    ``integer_answers``: the dataset's answers are integers (AIME), so ``025`` is written padding for 25.
    """
    gold, changes = raw.strip(), []
    stripped = strip_math_delimiters(gold)
    if stripped != gold:
        if gold.endswith("$.") and stripped.endswith("."):
            stripped = stripped[:-1].rstrip()
            changes.append("trailing_period")
        changes.append("math_delimiters")
        gold = stripped
    if integer_answers:
        m = _ZERO_PADDED_RE.match(gold)
        if m and m.group(1) != gold:
            gold = m.group(1)
            changes.append("zero_padding")
    return gold, changes
