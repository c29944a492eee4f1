"""Synthetic multi-step arithmetic word problems for the offline demo.

A problem is a start clause ("Ann has 4821 pens.") followed by 2-4 operation clauses, each one
arithmetic step on a running amount ("She buys 736." -> ``x+=736``). A *template* is the ordered
tuple of clause wordings. Two solution styles are written for every problem:

* CoT: one line per step, ``4821+736=5557`` (GSM8K's rationale style), so a model trained on it must do
  3-5 digit arithmetic in its head;
* code-nested (ToRA format, rendered by :mod:`mathforge.solution`): one line of code per clause, the
  interpreter's output, and ``\\boxed{}``; the model only has to map clauses to lines and copy numbers.

The held-out test set differs from training in two ways, reported separately: ``range`` problems reuse
training templates with operands drawn from a number range never used in training; ``template``
problems use clause orders (templates) never seen in training, with the same unseen number range.
Everything is a pure function of the seed.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

# Operation clauses: kind -> wordings. The op symbol is what the code line applies to the amount.
OPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "add": ("+", ("She buys {n}.", "She gets {n} more.")),
    "sub": ("-", ("She sells {n}.", "She gives away {n}.")),
    "mul": ("*", ("It becomes {n} times as many.",)),
}
NAMES = ("Ann", "Eva", "Mia", "Zoe", "Ivy", "Amy")
OBJECTS = ("pens", "cards", "coins", "beads", "stamps", "shells")

# Operand ranges. Training never sees a number from the held-out band, which sits *inside* the training
# range: 4-digit training numbers start with every digit, so no leading digit means "held out". Measured
# (docs/DEMO.md): with the held-out range at the top (7000-9999) training 4-digit numbers never started
# with 7-9 while 3-digit ones did, and code models learned "starts with 7-9 -> 3 digits", dropping the
# last digit of held-out operands (seed 0, model (c): 100 % of its training-distribution check, 24 % test).
TRAIN_RANGE = (100, 9999)
TEST_RANGE = (7500, 8499)  # the held-out band: training draws skip it
MUL_RANGE = (2, 9)  # one-digit multipliers keep the amount at 3-6 digits


@dataclass(frozen=True)
class Step:
    kind: str  # add | sub | mul
    wording: int  # index into OPS[kind][1]


Template = tuple[Step, ...]


@dataclass
class TaskProblem:
    id: str
    question: str
    answer: int
    start: int
    steps: list[tuple[Step, int]]
    template: str
    split: str  # train | test
    heldout: str = ""  # "" for train; "range" or "template" for the test set
    meta: dict = field(default_factory=dict)


def all_templates() -> list[Template]:
    """Every clause sequence of 2-4 operations with at most one multiplication (keeps answers < 10^6)."""
    clause_choices = [Step(kind, w) for kind, (_, words) in OPS.items() for w in range(len(words))]
    out: list[Template] = []
    for n_ops in (2, 3, 4):
        for combo in itertools.product(clause_choices, repeat=n_ops):
            if sum(s.kind == "mul" for s in combo) <= 1:
                out.append(tuple(combo))
    return out


def template_name(t: Template) -> str:
    return "-".join(f"{s.kind}{s.wording}" for s in t)


def split_templates(
    seed: int, n_train: int = 24, n_heldout: int = 12
) -> tuple[list[Template], list[Template]]:
    """Choose training templates and disjoint held-out templates (same mix of lengths in each)."""
    rng = random.Random(f"templates-{seed}")
    by_len: dict[int, list[Template]] = {}
    for t in all_templates():
        by_len.setdefault(len(t), []).append(t)
    train: list[Template] = []
    held: list[Template] = []
    for length in sorted(by_len):
        pool = by_len[length][:]
        rng.shuffle(pool)
        k_train, k_held = n_train // len(by_len), n_heldout // len(by_len)
        train += pool[:k_train]
        held += pool[k_train : k_train + k_held]
    # every clause wording must occur in training, otherwise a held-out template would need a word never seen
    seen = {s for t in train for s in t}
    for t in held:
        missing = set(t) - seen
        if missing:
            raise AssertionError(f"held-out template {template_name(t)} uses unseen clauses {missing}")
    return train, held


def make_problem(
    template: Template,
    rng: random.Random,
    num_range: tuple[int, int],
    pid: str,
    split: str,
    heldout: str = "",
) -> TaskProblem:
    """Operands come from ``num_range``; the start amount is raised just enough (by the subtractions that
    follow) that every intermediate amount stays >= 100, so it may have 5 digits."""
    name, obj = rng.choice(NAMES), rng.choice(OBJECTS)
    draw = (
        (lambda: _draw_outside_band(rng, num_range))
        if split == "train"
        else (lambda: rng.randint(*num_range))
    )
    operands = [rng.randint(*MUL_RANGE) if s.kind == "mul" else draw() for s in template]
    # every amount is c * start + d with c >= 1; find the smallest start keeping all amounts >= 100
    c, d, need = 1, 0, 0
    for step, n in zip(template, operands, strict=True):
        c, d = (c * n, d * n) if step.kind == "mul" else (c, d + n if step.kind == "add" else d - n)
        need = max(need, -(-(100 - d) // c))
    start = draw() + max(0, need)
    if split == "train" and TEST_RANGE[0] <= start <= TEST_RANGE[1]:
        start += TEST_RANGE[1] - TEST_RANGE[0] + 1  # a raised start must not land in the held-out band
    amount, parts, steps = start, [f"{name} has {start} {obj}."], []
    for step, n in zip(template, operands, strict=True):
        amount = amount * n if step.kind == "mul" else amount + n if step.kind == "add" else amount - n
        steps.append((step, n))
        parts.append(OPS[step.kind][1][step.wording].format(n=n))
    parts.append(f"How many {obj} now?")
    return TaskProblem(pid, " ".join(parts), amount, start, steps, template_name(template), split, heldout)


def _draw_outside_band(rng: random.Random, num_range: tuple[int, int]) -> int:
    """Uniform over ``num_range`` minus the held-out band ``TEST_RANGE``."""
    lo, hi = num_range
    band_lo, band_hi = max(lo, TEST_RANGE[0]), min(hi, TEST_RANGE[1])
    width = max(0, band_hi - band_lo + 1)
    n = rng.randint(lo, hi - width)
    return n + width if width and n >= band_lo else n


def generate(
    seed: int,
    n_train: int,
    n_test: int,
    *,
    train_range=TRAIN_RANGE,
    test_range=TEST_RANGE,
) -> tuple[list[TaskProblem], list[TaskProblem]]:
    """Seeded train set and held-out test set (half unseen ranges, half unseen templates)."""
    train_t, held_t = split_templates(seed)
    rng = random.Random(f"problems-{seed}")
    train = [
        make_problem(rng.choice(train_t), rng, train_range, f"train-{i}", "train") for i in range(n_train)
    ]
    test = []
    for i in range(n_test):
        if i % 2 == 0:
            test.append(make_problem(rng.choice(train_t), rng, test_range, f"test-{i}", "test", "range"))
        else:
            test.append(make_problem(rng.choice(held_t), rng, test_range, f"test-{i}", "test", "template"))
    return train, test


def redraw(problems: list[TaskProblem], copies: int, seed: int, num_range=TRAIN_RANGE) -> list[TaskProblem]:
    """LLM-free augmentation: ``copies`` new number draws of each problem's template (MuggleMath's
    question perturbation in miniature: same structure, new numbers, answers recomputed exactly)."""
    rng = random.Random(f"augment-{seed}")
    out = []
    for c in range(copies):
        for p in problems:
            template = tuple(s for s, _ in p.steps)
            q = make_problem(template, rng, num_range, f"{p.id}-aug{c}", "train")
            q.meta = {"augmented_from": p.id}
            out.append(q)
    return out


# Filler words of the copy pre-training texts: none is a word of the task's questions, so the base model
# learns to pick numbers out of text and copy them, not anything about the arithmetic problems.
FILLER = ("red", "box", "sun", "tree", "cat", "door", "lamp", "blue", "fish", "road", "cup", "moon")


def copy_rows(seed: int, n: int, split: str = "train") -> list[dict]:
    """Task-agnostic pre-training rows for the toy base model: "Copy: <line>" -> the line.

    What a pretrained model brings to fine-tuning and a randomly initialised one lacks is the ability to
    copy (induction heads). Without it, learning to copy operands into code happens abruptly at a step
    that floating-point details decide (the demo's seed- and machine-dependence). Numbers here have 1-5
    digits with every leading digit, as a pretraining corpus would; their digits are uniform, so no number
    range of the task is favoured.

    Only copies, measured (docs/DEMO.md): with half the rows "Numbers: <line>" -> the numbers in it, the
    loss sat on a plateau near 1.0-1.4 until copying formed abruptly at step ~1000-1300; with copies only it
    fell smoothly to 0.13 by step 600 (same model, batch 16, lr 1e-3).
    """
    rng = random.Random(f"copy-{split}-{seed}")

    def number() -> str:
        return str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(rng.randint(0, 4)))

    rows = []
    for i in range(n):
        words = []
        for _ in range(rng.randint(2, 4)):  # short lines: the stage's cost is its tokens
            words += [rng.choice(FILLER) for _ in range(rng.randint(1, 2))] + [number()]
        line = " ".join(words) + "."
        rows.append({"id": f"copy-{split}-{i}", "prompt": f"Copy: {line}\n", "completion": line})
    return rows


def check_problems(seed: int, n: int) -> list[TaskProblem]:
    """A small held-out check set from the *training* distribution (training templates and number range,
    never the test set): what decides when a model has learned its task and may stop training."""
    return train_distribution(seed, n, "check")


def train_distribution(seed: int, n: int, tag: str) -> list[TaskProblem]:
    """``n`` new draws from the training distribution of ``seed`` (its training templates and number
    range), independent of the training set for each ``tag``: the check set, the self-training problems."""
    train_t, _ = split_templates(seed)
    rng = random.Random(f"{tag}-{seed}")
    return [make_problem(rng.choice(train_t), rng, TRAIN_RANGE, f"{tag}-{i}", "train") for i in range(n)]
