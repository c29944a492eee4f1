"""GSM8K chain -> code-nested solution (ToRA format), verified by execution.

Layout of a converted solution: each solution line that computes something becomes a python block
(its steps, results reused later named as variables, every result printed), the interpreter's output,
then the original line with the calculator annotation removed -- so every number the prose states has
just been printed by the interpreter. Lines that compute nothing stay text. The solution ends with
``The answer is \\boxed{gold}.``

All blocks of a problem run as one program in the sandbox, with a marker line printed between blocks;
each block's output is cut out of that one run (the same as a session running the blocks one after the
other, without a round trip per block). A conversion is kept only if the final printed value equals the
``####`` answer.
"""

from __future__ import annotations

import ast
import keyword
import re
from dataclasses import dataclass, field

from mathforge.augment.chain import (
    _ANNOTATION,
    Chain,
    ChainError,
    EvalError,
    Step,
    close,
    evaluate,
    parse_chain,
    rounds_to,
)
from mathforge.solution import Code, Output, Segment, Text, render

MARKER = "__mathforge_block_end__"

_STOP = set(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "by",
        "with",
        "and",
        "or",
        "but",
        "so",
        "that",
        "this",
        "these",
        "those",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "has",
        "have",
        "had",
        "he",
        "she",
        "it",
        "they",
        "we",
        "you",
        "i",
        "his",
        "her",
        "its",
        "their",
        "our",
        "your",
        "him",
        "them",
        "us",
        "me",
        "then",
        "thus",
        "there",
        "here",
        "now",
        "more",
        "less",
        "total",
        "each",
        "per",
        "which",
        "who",
        "what",
        "how",
        "many",
        "much",
        "if",
        "as",
        "than",
        "into",
        "out",
        "up",
        "down",
        "over",
        "after",
        "before",
        "also",
        "only",
        "just",
        "all",
        "any",
        "some",
        "now",
        "will",
        "would",
        "can",
        "could",
        "should",
        "need",
        "needs",
        "get",
        "gets",
        "got",
        "make",
        "makes",
        "made",
        "spend",
        "spends",
        "spent",
        "earn",
        "earns",
        "earned",
        "cost",
        "costs",
        "buy",
        "buys",
        "bought",
        "sell",
        "sells",
        "sold",
        "pay",
        "pays",
        "paid",
        "take",
        "takes",
        "took",
        "give",
        "gives",
        "gave",
        "left",
        "altogether",
        "remaining",
        "therefore",
        "means",
        "mean",
        "find",
        "first",
        "second",
        "next",
    ]
)


@dataclass
class Block:
    line: int
    steps: list[Step]
    code: str


@dataclass
class Program:
    """The code-nested rendering of one chain, before execution."""

    chain: Chain
    blocks: list[Block]
    names: dict[int, str] = field(default_factory=dict)  # step index -> variable name
    values: list[float] = field(default_factory=list)  # in-process value of each step
    trees: list = field(default_factory=list)  # each step's expression, earlier results as _s<j> names

    def outputs(self) -> list[str]:
        """What each block prints, computed in-process with python's own arithmetic on the program's
        expressions (variables included: ``34 + clips_may`` prints ``51.0``, as the sandbox would)."""
        env: dict[str, float] = {}
        printed: list[str] = []
        for k, tree in enumerate(self.trees):
            env[f"_s{k}"] = evaluate(tree, env)
        for b in self.blocks:
            printed.append("\n".join(str(env[f"_s{self.chain.steps.index(s)}"]) for s in b.steps))
        return printed

    def source(self) -> str:
        """One program: blocks separated by a printed marker (see module docstring)."""
        parts = []
        for b in self.blocks:
            parts.append(b.code)
            parts.append(f"print({MARKER!r})")
        return "\n".join(parts) + "\n"


@dataclass
class Converted:
    id: str
    ok: bool
    reason: str | None
    solution: str | None = None
    detail: dict = field(default_factory=dict)


def check_chain(chain: Chain) -> tuple[list[float], str | None, dict]:
    """Evaluate every step in-process; returns (values, reject reason or None, detail)."""
    values: list[float] = []
    for k, step in enumerate(chain.steps):
        try:
            exact = evaluate(step.expr)
        except (EvalError, SyntaxError) as exc:
            return values, "eval_error", {"step": k, "expr": step.expr, "error": str(exc)}
        values.append(exact)
        if not rounds_to(exact, step.claimed_text):
            kind = "annotation_wrong" if step.annotated else "text_arithmetic_wrong"
            return values, kind, {"step": k, "expr": step.expr, "claimed": step.claimed, "computed": exact}
        if step.written is not None and not close(step.written, step.claimed):
            return (
                values,
                "text_value_mismatch",
                {"step": k, "expr": step.expr, "claimed": step.claimed, "written": step.written},
            )
    return values, None, {}


def build_program(chain: Chain, values: list[float]) -> Program:
    """Turn the steps into python blocks, naming results that a later step reuses."""
    trees: list[ast.expr] = []
    reused: set[int] = set()
    for k, step in enumerate(chain.steps):
        tree = ast.parse(step.expr, mode="eval").body
        tree = _substitute(tree, k, values, reused)
        trees.append(tree)
    names: dict[int, str] = {}
    taken: set[str] = set()
    for k in sorted(reused):
        names[k] = _name_for(chain, chain.steps[k], taken)
    # rewrite Name placeholders ("_s{k}") with the chosen names
    blocks: list[Block] = []
    for line in sorted({s.line for s in chain.steps}):
        stmts = []
        for k, step in enumerate(chain.steps):
            if step.line != line:
                continue
            expr = _rename(ast.unparse(trees[k]), names)
            if k in names:
                stmts.append(f"{names[k]} = {expr}")
                stmts.append(f"print({names[k]})")
            else:
                stmts.append(f"print({expr})")
        blocks.append(Block(line, chain.steps_on(line), "\n".join(stmts)))
    return Program(chain, blocks, names, values, trees)


class _Substitute(ast.NodeTransformer):
    """Replace a literal equal to an earlier step's exact result by a ``_s<j>`` placeholder name."""

    def __init__(self, k: int, values: list[float], reused: set[int]):
        self.k, self.values, self.reused = k, values, reused

    def visit_Constant(self, node: ast.Constant):
        if not isinstance(node.value, (int, float)):
            return node
        for j in range(self.k - 1, -1, -1):
            if close(self.values[j], node.value, rel=1e-9):
                self.reused.add(j)
                return ast.Name(id=f"_s{j}", ctx=ast.Load())
        return node


def _substitute(tree: ast.expr, k: int, values: list[float], reused: set[int]) -> ast.expr:
    return _Substitute(k, values, reused).visit(tree)


_PLACEHOLDER = re.compile(r"\b_s(\d+)\b")


def _rename(expr: str, names: dict[int, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: names[int(m.group(1))], expr)


def _name_for(chain: Chain, step: Step, taken: set[str]) -> str:
    """A readable variable name from the words around the step (``24 clips in May`` -> ``clips_may``)."""
    line = chain.lines[step.line]
    after = _ANNOTATION.sub("", line[step.end :])
    after = re.sub(r"^\s*\$?\s*-?[\d,]*\.?\d+", "", after)  # the restated value
    after = re.split(r"[.,;:!?()=]", after, maxsplit=1)[0]
    words = _words(after)[:3]
    if not words:
        before = _ANNOTATION.sub("", line[: step.start])
        before = re.split(r"[.,;:!?()=]", before)
        words = _words(before[-1] if before else "")[-3:] or _words(" ".join(before))[-3:]
    base = "_".join(words) or "result"
    if keyword.iskeyword(base) or base in {"print", "sum", "min", "max", "round", "abs", "int", "float"}:
        base += "_value"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _words(text: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Za-z]+", text) if w.lower() not in _STOP and len(w) > 1]


def segments_for(program: Program, outputs: list[str], gold_text: str) -> list[Segment]:
    """Interleave text lines, code blocks and their outputs; end with the boxed gold answer."""
    chain = program.chain
    by_line = {b.line: (b, out) for b, out in zip(program.blocks, outputs, strict=True)}
    segments: list[Segment] = []
    pending: list[str] = []
    for i, line in enumerate(chain.lines):
        prose = re.sub(r"\s+([.,])(?=\s|$)", r"\1", _ANNOTATION.sub("", line)).strip()
        if i in by_line:
            if pending:
                segments.append(Text("\n".join(pending)))
                pending = []
            block, out = by_line[i]
            segments.append(Code(block.code))
            segments.append(Output(out))
        pending.append(prose)
    pending.append(f"The answer is \\boxed{{{gold_text.replace(',', '')}}}.")
    segments.append(Text("\n".join(pending)))
    return segments


def split_outputs(stdout: str, n_blocks: int) -> list[str] | None:
    parts = stdout.split(MARKER + "\n")
    if len(parts) != n_blocks + 1 or parts[-1].strip():
        return None
    return [p.rstrip("\n") for p in parts[:-1]]


def prepare(problem_id: str, answer: str) -> tuple[Program | None, Converted | None]:
    """Parse and check a chain; returns a program to execute, or the rejection."""
    try:
        chain = parse_chain(answer)
    except ChainError as exc:
        return None, Converted(problem_id, False, str(exc))
    if chain.gold is None:
        return None, Converted(problem_id, False, "gold_not_numeric", detail={"gold": chain.gold_text})
    if not chain.steps:
        return None, Converted(problem_id, False, "no_steps")
    values, reason, detail = check_chain(chain)
    if reason:
        return None, Converted(problem_id, False, reason, detail=detail)
    if not close(values[-1], chain.gold) and close(values[-1] * 100, chain.gold):
        _append_percent_step(chain, values)
    if not close(values[-1], chain.gold):
        earlier = any(close(v, chain.gold) for v in values[:-1])
        reason = "gold_is_earlier_step" if earlier else "final_mismatch"
        return None, Converted(problem_id, False, reason, detail={"final": values[-1], "gold": chain.gold})
    return build_program(chain, values), None


def _append_percent_step(chain: Chain, values: list[float]) -> None:
    """The chain ends in hundredths (``0.25``) and the label in percent or cents (``25``): one more step."""
    chain.lines.append("Expressed in hundredths (percent or cents), that is the value times 100.")
    line = len(chain.lines) - 1
    chain.steps.append(Step(line, f"{values[-1]!r} * 100", values[-1] * 100, repr(values[-1] * 100), False))
    values.append(values[-1] * 100)


def finish(problem_id: str, program: Program, status: str, stdout: str, equiv) -> Converted:
    """Turn one sandbox run into the converted solution (or the rejection)."""
    chain = program.chain
    if status != "ok":
        return Converted(problem_id, False, f"exec_{status}", detail={"stdout": stdout[-300:]})
    outputs = split_outputs(stdout, len(program.blocks))
    if outputs is None:
        return Converted(problem_id, False, "exec_output_unsplittable", detail={"stdout": stdout[-300:]})
    final = outputs[-1].strip().split("\n")[-1].strip() if outputs[-1].strip() else ""
    if not equiv(final, chain.gold_text.replace(",", "")):
        return Converted(
            problem_id, False, "exec_result_not_gold", detail={"final": final, "gold": chain.gold_text}
        )
    solution = render(segments_for(program, outputs, chain.gold_text), "tora")
    return Converted(problem_id, True, None, solution, {"n_blocks": len(program.blocks), "final": final})


def numeric_equiv(pred: str, gold: str) -> bool:
    """Fast path for numbers, falling back to the project's grader for anything else."""
    try:
        return close(float(pred), float(gold))
    except ValueError:
        from mathforge.answer import is_equiv

        return is_equiv(pred, gold)
