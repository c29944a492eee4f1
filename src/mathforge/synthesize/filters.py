"""Filters of synthesized solutions: dedup keys, majority vote, decontamination against test sets.

* CoT dedup (RFT, Yuan et al. 2023): two reasoning paths are duplicates when they write the same list of
  equations (``a op b = c``, spaces and thousands separators dropped, in order).
* Code dedup: the normalised AST of all code blocks: variables renamed ``v0, v1, ...`` in order of first
  use, comments and docstrings dropped, so paths that differ only in names or layout collapse.
* Decontamination: a question is contaminated when it shares at least one word ``n``-gram (``n = 13``
  by default, lower-cased, punctuation dropped; the GPT-3 / Llama decontamination rule) with any test
  question, or, when it has fewer than ``n`` words, equals a test question after normalisation. 13 words
  is about a third of a GSM8K question, long enough that shared phrasing ("how much money does she have
  left") does not trigger it, short enough that a copied sentence does.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import re
from collections.abc import Iterable

from mathforge.solution import Code, parse

_EQUATION = re.compile(r"([\d.,()$%\s+\-*/×x÷^]+?)=\s*\$?\s*(-?[\d,]*\.?\d+)")


def cot_key(text: str) -> tuple[str, ...]:
    """RFT's equation list of a chain-of-thought path."""
    eqs = []
    for m in _EQUATION.finditer(text):
        lhs = re.sub(r"[\s$,]", "", m.group(1))
        if not re.search(r"\d", lhs) or not re.search(r"[-+*/×x÷^]", lhs):
            continue
        eqs.append(f"{lhs}={m.group(2).replace(',', '')}")
    return tuple(eqs) if eqs else (re.sub(r"\s+", " ", text.strip().lower()),)


class _Canon(ast.NodeTransformer):
    def __init__(self):
        self.names: dict[str, str] = {}

    def _rename(self, name: str) -> str:
        if hasattr(builtins, name):
            return name
        if name not in self.names:
            self.names[name] = f"v{len(self.names)}"
        return self.names[name]

    def visit_Name(self, node: ast.Name):
        node.id = self._rename(node.id)
        return node

    def visit_arg(self, node: ast.arg):
        node.arg = self._rename(node.arg)
        node.annotation = None
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef):
        node.name = self._rename(node.name)
        node.returns = None
        if node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
            node.body = node.body[1:] or [ast.Pass()]  # the docstring
        self.generic_visit(node)
        return node


def code_key(solution: str, fmt: str = "tora") -> str:
    """Normalised-AST key of a code-nested solution (all its code blocks, in order)."""
    canon = _Canon()
    parts = []
    for seg in parse(solution, fmt):
        if not isinstance(seg, Code):
            continue
        try:
            tree = canon.visit(ast.parse(seg.code))
            parts.append(ast.dump(tree, annotate_fields=False, include_attributes=False))
        except SyntaxError:
            parts.append(re.sub(r"\s+", " ", seg.code.strip()))
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()


def dedup(rows: list[dict], key) -> tuple[list[dict], int]:
    """Keep the first row per key; returns (kept, removed count)."""
    seen: set = set()
    kept = []
    for r in rows:
        k = key(r)
        if k in seen:
            continue
        seen.add(k)
        kept.append(r)
    return kept, len(rows) - len(kept)


def majority(answers: list[str | None], equiv_many, min_agreement: float) -> tuple[int | None, list[int]]:
    """(winning class, class per answer); the class wins only with >= ``min_agreement`` of all votes."""
    from mathforge.answer.classes import answer_classes

    classes = answer_classes(answers, equiv_many)
    votes: dict[int, int] = {}
    for c in classes:
        if c >= 0:
            votes[c] = votes.get(c, 0) + 1
    if not votes:
        return None, classes
    best = max(votes, key=lambda c: (votes[c], -classes.index(c)))
    if votes[best] / len(answers) < min_agreement:
        return None, classes
    return best, classes


# --- decontamination ---------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


class NgramIndex:
    """Word n-grams of the test questions (hashed), for contamination checks."""

    def __init__(self, texts: Iterable[str], n: int = 13):
        self.n = n
        self.grams: set[int] = set()
        self.short: set[str] = set()
        self.size = 0
        for t in texts:
            self.add(t)

    def add(self, text: str) -> None:
        words = _words(text)
        self.size += 1
        self.short.add(" ".join(words))
        for i in range(len(words) - self.n + 1):
            self.grams.add(hash(" ".join(words[i : i + self.n])))

    def contaminated(self, text: str) -> bool:
        words = _words(text)
        if len(words) < self.n:
            return " ".join(words) in self.short
        return any(
            hash(" ".join(words[i : i + self.n])) in self.grams for i in range(len(words) - self.n + 1)
        )


TEST_SETS = [("gsm8k", "test"), ("math", "test"), ("math500", "test"), ("svamp", "test"), ("asdiv", "test"),
             ("gsm_hard", "test")]  # fmt: skip


def test_set_index(data_dir=None, n: int = 13, sets=TEST_SETS) -> tuple[NgramIndex, dict[str, int]]:
    """An index over every test set found in the data folder; returns it and the count per set."""
    from mathforge.data import load_problems
    from mathforge.io import DataError

    index = NgramIndex([], n)
    counts = {}
    for name, split in sets:
        try:
            problems = load_problems(name, split=split, data_dir=data_dir)
        except (DataError, FileNotFoundError, OSError):
            continue  # a test set that is not in the folder
        for p in problems:
            index.add(p.question)
        counts[name] = len(problems)
    return index, counts
