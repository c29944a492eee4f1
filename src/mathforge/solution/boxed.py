"""Find the content of the last ``\\boxed{...}`` / ``\\fbox{...}`` in LaTeX text (nested braces handled)."""

from __future__ import annotations

import re

_BOX_RE = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])")


def last_boxed(text: str | None) -> str | None:
    """Content of the last ``\\boxed{..}`` or ``\\fbox{..}`` in ``text``; ``None`` when there is none.

    Handles nested braces (``\\boxed{\\frac{1}{2}}`` -> ``\\frac{1}{2}``) and the brace-less form
    ``\\boxed 5`` (content runs to the next ``$`` or whitespace). An unbalanced last box is skipped in favour
    of an earlier complete one.
    """
    if not text:
        return None
    for match in reversed(list(_BOX_RE.finditer(text))):
        content = _box_content(text, match.end())
        if content is not None:
            return content
    return None


def box_end(text: str, pos: int) -> int | None:
    """Index just past the box that starts at ``pos`` (right after ``\\boxed``); None if it is incomplete."""
    while pos < len(text) and text[pos] == " ":
        pos += 1
    if pos >= len(text):
        return None
    if text[pos] != "{":
        m = re.match(r"[^\s$]+", text[pos:])
        return pos + m.end() if m else None
    depth, i = 0, pos
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def _box_content(text: str, pos: int) -> str | None:
    # skip spaces between the command and its argument
    while pos < len(text) and text[pos] == " ":
        pos += 1
    if pos >= len(text):
        return None
    if text[pos] != "{":
        # `\boxed 5` form: one token up to whitespace or `$`
        m = re.match(r"[^\s$]+", text[pos:])
        return m.group(0).strip() if m else None
    depth = 0
    i = pos
    while i < len(text):
        ch = text[i]
        if ch == "\\":  # an escaped char (\{, \}, \\) never opens or closes a group
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[pos + 1 : i].strip()
        i += 1
    return None
