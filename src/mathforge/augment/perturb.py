"""Numeric perturbation of GSM8K problems (LLM-free question alteration).

For each source problem: the numbers of the question are mapped to the literals of the chain's
expressions (equal values; ``20%`` also matches ``0.2`` and ``20/100``); every literal must be explained
as a question number, an earlier result, or a known constant (``twice``, ``dozen``, 60 minutes, ...),
otherwise the problem is skipped, since a number computed "in the head" from a question number would go
stale. Then new values are drawn (seeded, same shape: magnitude, decimals, multiples of 5/10), the chain is
re-evaluated, and a variant is kept only if it stays valid: results that were whole stay whole, nothing
turns negative or zero, money keeps at most two decimals. The question, the GSM8K-style worked solution
and the code-nested solution are re-rendered with the new numbers, and the new chain is re-checked
from its text (so a wrong substitution is rejected, not emitted).
"""

from __future__ import annotations

import ast
import math
import random
import re
from collections import Counter
from dataclasses import dataclass, field

from mathforge.augment.chain import _ANNOTATION, EvalError, close, evaluate, parse_chain
from mathforge.augment.convert import _substitute, build_program, check_chain, segments_for
from mathforge.solution import render

# numbers as a question writes them: "$1,200", "2.5", "20%"; not parts of "3/4", "6:30", "1st", "2x"
_Q_NUMBER = re.compile(r"(?<![\w.,/:])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w/]|\.\d|,\d{3}|:\d)(\s?%)?")

_WORD_VALUES = {
    "one": [1], "two": [2], "three": [3], "four": [4], "five": [5], "six": [6], "seven": [7], "eight": [8],
    "nine": [9], "ten": [10], "eleven": [11], "twelve": [12], "fifteen": [15], "twenty": [20],
    "thirty": [30], "forty": [40], "fifty": [50], "hundred": [100], "thousand": [1000],
    "half": [2, 0.5], "halves": [2, 0.5], "twice": [2], "double": [2], "doubles": [2], "pair": [2],
    "couple": [2], "third": [3], "thirds": [3], "triple": [3], "thrice": [3], "quarter": [4, 0.25],
    "quarters": [4, 0.25], "fourth": [4], "fifth": [5], "dozen": [12], "dozens": [12],
    "week": [7, 52], "weeks": [7, 52], "hour": [60, 24], "hours": [60, 24], "minute": [60],
    "minutes": [60], "day": [24, 7, 30, 365], "days": [24, 7, 30, 365], "year": [12, 52, 365],
    "years": [12, 52, 365], "month": [12, 30], "months": [12, 30], "percent": [100], "cents": [100],
    "cent": [100], "dollar": [100], "dollars": [100], "feet": [12], "foot": [12], "inches": [12],
    "pounds": [16], "ounces": [16], "gallon": [128, 4], "gallons": [128, 4], "quart": [4, 32],
}  # fmt: skip
# constants any story may use without naming them (units, 100%)
_UNIVERSAL = {1, 2, 10, 100, 1000, 60, 24, 7, 12, 52, 365, 0.01}
_SMALL = 3  # values up to this are often unwritten counts ("each of them", "both")


@dataclass
class QNumber:
    start: int
    end: int
    value: float
    decimals: int
    commas: bool
    percent: bool


@dataclass
class Template:
    """What a source problem offers for perturbation."""

    source_id: str
    question: str
    answer: str
    numbers: list[QNumber]
    groups: dict[float, list[int]]  # question value -> indices of its occurrences in ``numbers``
    free: list[float]  # the question values that will be redrawn
    fixed: set[float]  # literals and question values that keep their value
    trees: list[ast.expr]  # chain expressions, earlier results as _s{j} names
    values: list[float]
    lines: list[str]
    reason: str | None = None
    meta: dict = field(default_factory=dict)
    exprs: list[str] = field(default_factory=list)  # unparsed trees, names in place of free values
    chain: object = None


def question_numbers(question: str) -> list[QNumber]:
    out = []
    for m in _Q_NUMBER.finditer(question):
        whole, frac, pct = m.group(1), m.group(2) or "", m.group(3)
        value = float(whole.replace(",", "") + frac)
        out.append(QNumber(m.start(), m.end() if not pct else m.start(3), value, max(0, len(frac) - 1),
                           "," in whole, bool(pct)))  # fmt: skip
    return out


def _word_constants(question: str) -> set[float]:
    found: set[float] = set()
    for w in re.findall(r"[a-z]+", question.lower()):
        found.update(_WORD_VALUES.get(w, ()))
    return found


def analyse(source_id: str, question: str, answer: str) -> Template:
    """Map question numbers to chain literals; ``reason`` says why a problem cannot be perturbed."""
    t = Template(source_id, question, answer, question_numbers(question), {}, [], set(), [], [], [])
    try:
        chain = parse_chain(answer)
    except ValueError as exc:
        t.reason = f"chain_{exc}"
        return t
    if not chain.steps or chain.gold is None:
        t.reason = "no_steps"
        return t
    values, reason, _ = check_chain(chain)
    if reason:
        t.reason = reason
        return t
    if not close(values[-1], chain.gold):
        t.reason = "chain_not_gold"
        return t
    t.values, t.lines = values, chain.lines
    for i, q in enumerate(t.numbers):
        t.groups.setdefault(q.value, []).append(i)
    words = _word_constants(question)
    consts = words | _UNIVERSAL
    pct_values = {q.value / 100: q.value for q in t.numbers if q.percent}
    reused: set[int] = set()
    used: set[float] = set()
    uses: Counter = Counter()  # how often each question value is a chain literal
    for k, step in enumerate(chain.steps):
        tree = _substitute(ast.parse(step.expr, mode="eval").body, k, values, reused)
        t.trees.append(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                # the literal is both an earlier result and a question number: which one is unknowable
                shared = _in(values[int(node.id[2:])], t.groups)
                if shared is not None and shared not in consts:
                    t.reason = "ambiguous_operand"
                    return t
            if isinstance(node, ast.Constant):
                v = node.value
                if (q := _in(v, t.groups)) is not None:
                    used.add(q)
                    uses[q] += 1
                elif (p := _in(v, pct_values)) is not None:
                    used.add(pct_values[p])
                elif _in(v, {c: 0 for c in consts}) is None:
                    t.reason = "unexplained_literal"
                    t.meta = {"literal": v}
                    return t
                else:
                    t.fixed.add(_canon(v))
    # a question value that a word of the question also stands for ("2 apples ... twice") is kept:
    # which literal is which is unknowable
    # a small value the chain uses more often than the question writes it likely plays an unwritten role
    # too ("Rebecca and her husband each had a slice": 2); redrawing it would change that role as well.
    # (A large value used twice, "1200 * 25%" then "1200 - 300", is the same quantity reused.)
    t.free = sorted(
        q
        for q in used
        if _in(q, {c: 0 for c in words}) is None and (q > _SMALL or uses[q] <= len(t.groups[q]))
    )
    t.fixed |= {_canon(q) for q in t.groups if q not in t.free}
    # free literals become names (_q<i>: the value, _p<i>: the value / 100), so a variant is only a new env
    slots = {q: i for i, q in enumerate(t.free)}
    slots_pct = {q / 100: i for q, i in slots.items() if t.numbers[t.groups[q][0]].percent}
    t.trees = [_slot_literals(tree, slots, slots_pct) for tree in t.trees]
    t.exprs = [ast.unparse(tree) for tree in t.trees]
    t.chain = chain
    if not t.free:
        t.reason = "no_free_numbers"
    return t


def _in(value: float, table: dict) -> float | None:
    for key in table:
        if close(value, key, rel=1e-9):
            return key
    return None


def draw(value: float, decimals: int, percent: bool, rng: random.Random) -> float:
    """A new value of the same shape: magnitude within x0.5..x1.5(+3), same decimals, same roundness."""
    if decimals:
        unit = 10.0**-decimals
        units = round(value / unit)
        step = 5 if units % 5 == 0 else 1
        lo, hi = max(1, units // 2), max(units + 3 * step, units * 3 // 2)
        return round(rng.randrange(lo // step * step or step, hi + 1, step) * unit, decimals)
    v = int(value)
    step = 10 if v >= 20 and v % 10 == 0 else 5 if v >= 10 and v % 5 == 0 else 1
    lo, hi = max(step, v // 2 // step * step), max(v + 3 * step, v * 3 // 2)
    if percent:
        hi = min(hi, 95)
        lo = min(lo, hi)
    return float(rng.randrange(lo, hi + 1, step))


@dataclass
class Variant:
    ok: bool
    reason: str | None = None
    row: dict | None = None


def make_variant(t: Template, seed: int, k: int) -> Variant:
    """Variant ``k`` of a template under ``seed`` (deterministic)."""
    rng = random.Random(f"{seed}:{t.source_id}:{k}")
    shape = {}
    for q in t.free:
        first = t.numbers[t.groups[q][0]]
        shape[q] = (first.decimals, first.percent)
    new_q: dict[float, float] = {}
    for q in t.free:  # distinct new values keep the prose re-rendering unambiguous: redraw a collision
        for _ in range(5):
            new_q[q] = draw(q, *shape[q], rng)
            if new_q[q] not in [new_q[o] for o in new_q if o != q]:
                break
    if all(close(new_q[q], q) for q in t.free):
        return Variant(False, "unchanged")
    if len(set(new_q.values())) < len(new_q):
        return Variant(False, "values_collide")
    env: dict[str, float] = {}
    for i, q in enumerate(t.free):
        env[f"_q{i}"] = _as_literal(new_q[q], q)
        env[f"_p{i}"] = new_q[q] / 100
    new_values: list[float] = []
    for j, tree in enumerate(t.trees):
        try:
            v = evaluate(tree, env)
        except EvalError:
            return Variant(False, "eval_error")
        if not _still_valid(t.values[j], v):
            return Variant(False, "invalid_value")
        env[f"_s{j}"] = v
        new_values.append(v)
    # old value -> new value for re-rendering prose; an old value with two new values is ambiguous
    mapping: dict[float, set[float]] = {}
    for q in t.free:
        mapping.setdefault(q, set()).add(new_q[q])
    for c in t.fixed:
        mapping.setdefault(c, set()).add(c)
    for old, new in zip(t.values, new_values, strict=True):
        mapping.setdefault(_canon(old), set()).add(_canon(new))
    answer = _render_answer(t, env, mapping)
    if answer is None:
        return Variant(False, "ambiguous_text_number")
    question = _render_question(t, new_q)
    gold = _fmt(new_values[-1])
    answer += f"\n#### {gold}"
    # re-read the rewritten chain from its text: catches any substitution that broke the arithmetic
    chain = parse_chain(answer)
    values, reason, _ = check_chain(chain)
    if reason or not values or not close(values[-1], new_values[-1]):
        return Variant(False, f"recheck_{reason or 'final'}")
    program = build_program(chain, values)
    outputs = program.outputs()
    solution = render(segments_for(program, outputs, gold), "tora")
    return Variant(True, None, {
        "id": f"{t.source_id}/perturb-{seed}-{k}",
        "source_id": t.source_id,
        "method": "numeric_perturbation",
        "seed": seed,
        "variant": k,
        "question": question,
        "answer": answer,
        "solution": solution,
        "gold": gold,
        "mode": "code",
        "format": "tora",
        "changed": {_fmt(q): _fmt(new_q[q]) for q in t.free},
    })  # fmt: skip


def _canon(x: float) -> float:
    return round(float(x), 9)


def _still_valid(old: float, new: float) -> bool:
    if not math.isfinite(new) or abs(new) > 1e9:
        return False
    if old >= 0 > new or (old > 0 and new == 0):
        return False
    if float(old).is_integer():
        return float(new).is_integer() or close(new, round(new), rel=1e-9)
    return abs(new * 100 - round(new * 100)) < 1e-6  # fractional amounts stay at cents


def _slot_literals(tree: ast.expr, slots: dict[float, int], slots_pct: dict[float, int]) -> ast.expr:
    class Slot(ast.NodeTransformer):
        def visit_Constant(self, node):
            if (key := _in(node.value, slots)) is not None:
                return ast.Name(id=f"_q{slots[key]}", ctx=ast.Load())
            if (key := _in(node.value, slots_pct)) is not None:
                return ast.Name(id=f"_p{slots_pct[key]}", ctx=ast.Load())
            return node

    return Slot().visit(tree)


def _as_literal(new: float, old: float) -> float:
    """Whole numbers stay python ints (so ``print`` shows ``24``, as the original literal did)."""
    return int(new) if float(new).is_integer() and float(old).is_integer() else new


def _fmt(x: float, decimals: int | None = None, commas: bool = False) -> str:
    if decimals:
        text = f"{x:.{decimals}f}"
    elif float(x).is_integer() or close(x, round(x), rel=1e-9):
        text = str(int(round(x)))
    else:
        text = f"{x:.6f}".rstrip("0").rstrip(".")
    if commas:
        whole, _, frac = text.partition(".")
        text = f"{int(whole):,}" + (f".{frac}" if frac else "")
    return text


def _render_question(t: Template, new_q: dict[float, float]) -> str:
    out, pos = [], 0
    for q in t.numbers:
        if (key := _in(q.value, new_q)) is None:
            continue
        new = _fmt(new_q[key], q.decimals, q.commas)
        out.append(_fix_article(t.question[pos : q.start], new))
        out.append(new)
        pos = q.end
    out.append(t.question[pos:])
    return "".join(out)


def _fix_article(before: str, number: str) -> str:
    """``a 15-ounce`` / ``an 11-ounce``: the article must suit how the new number is spoken."""
    m = re.search(r"\b([Aa])(n?) $", before)
    if not m:
        return before
    digits = number.replace(",", "").split(".")[0]
    vowel = digits.startswith("8") or (digits[:2] in ("11", "18") and len(digits) % 3 == 2)
    return before[: m.start()] + m.group(1) + ("n " if vowel else " ")


_TEXT_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w]|\.\d)")


_SLOT = re.compile(r"_[qps]\d+")


def _render_answer(t: Template, env: dict[str, float], mapping: dict[float, set[float]]) -> str | None:
    """Rewrite each line: annotations from the new chain, prose numbers through ``mapping``."""
    chain = t.chain
    lines = []
    for i, line in enumerate(t.lines):
        annotated = [k for k, s in enumerate(chain.steps) if s.line == i and s.annotated]
        pieces, pos = [], 0
        for m, k in zip(_ANNOTATION.finditer(line), annotated, strict=False):
            prose = _map_prose(line[pos : m.start()], mapping)
            if prose is None:
                return None
            pieces.append(prose)
            expr = _SLOT.sub(lambda n: _fmt(env[n.group(0)]), t.exprs[k]).replace(" ", "")
            pieces.append(f"<<{expr}={_fmt(env[f'_s{k}'])}>>")
            pos = m.end()
        rest = _map_prose(line[pos:], mapping)
        if rest is None:
            return None
        pieces.append(rest)
        lines.append("".join(pieces))
    return "\n".join(lines)


def _map_prose(text: str, mapping: dict[float, set[float]]) -> str | None:
    failed = False

    def sub(m: re.Match) -> str:
        nonlocal failed
        old = float(m.group(1).replace(",", "") + (m.group(2) or ""))
        key = _in(old, mapping)
        if key is None:
            return m.group(0)
        news = mapping[key]
        if len(news) != 1:
            failed = True
            return m.group(0)
        (new,) = news
        decimals = len(m.group(2)) - 1 if m.group(2) and not float(new).is_integer() else None
        return _fmt(new, decimals, "," in m.group(1))

    out = _TEXT_NUMBER.sub(sub, text)
    return None if failed else out


def perturb_many(rows, n: int, seed: int, max_tries: int | None = None):
    """Yield ``(source_id, variant rows, stats Counter)`` per source; up to ``n`` distinct variants each."""
    for row in rows:
        stats: Counter = Counter()
        t = analyse(row.id, row.question, row.solution)
        if t.reason:
            stats[f"skip_{t.reason}"] += 1
            yield row.id, [], stats
            continue
        out, seen = [], set()
        for k in range(max_tries or 10 * n):
            if len(out) >= n:
                break
            v = make_variant(t, seed, k)
            if not v.ok:
                stats[v.reason] += 1
                continue
            if v.row["question"] in seen:
                stats["duplicate"] += 1
                continue
            seen.add(v.row["question"])
            out.append(v.row)
        stats["kept"] += len(out)
        yield row.id, out, stats


def _perturb_chunk(args):
    rows, n, seed, tries = args
    return list(perturb_many(rows, n, seed, tries))


def perturb_parallel(rows, n: int, seed: int, tries: int | None = None, workers: int = 1, chunk: int = 64):
    """``perturb_many`` over ``workers`` processes (chunks in order, so output order is deterministic)."""
    rows = list(rows)
    if workers <= 1:
        yield from perturb_many(rows, n, seed, tries)
        return
    import multiprocessing as mp

    from mathforge.data import Problem

    slim = [Problem(r.id, r.question, r.gold, r.solution) for r in rows]
    chunks = [(slim[i : i + chunk], n, seed, tries) for i in range(0, len(slim), chunk)]
    with mp.get_context("spawn").Pool(workers) as pool:
        for result in pool.imap(_perturb_chunk, chunks):
            yield from result
