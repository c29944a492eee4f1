"""Teacher-driven question augmentation: versioned prompts, reply parsing, validation, the async runner.

Prompt files live in ``prompts/<method>.v<N>.txt``. The first line is a ``#`` header (method, how the
answer of the new question is known, the paper it follows); ``{{question}}``, ``{{answer}}`` and
``{{solution}}`` are filled in. The answer of a new question is known for ``rephrase`` (unchanged),
``fobar`` and ``bf_trans`` (the masked value); the others get theirs later from the majority vote of
synthesized solutions (``mathforge synthesize``).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from importlib import resources
from pathlib import Path

from mathforge.llm.prompts import Prompt, load_prompt
from mathforge.rows import QuestionRow

PROMPT_DIR = Path(str(resources.files("mathforge.augment") / "prompts"))  # the question methods' prompts

# method -> how the new question's answer is known: "same" (source gold), "masked" (the masked value), "new"
METHODS: dict[str, str] = {
    "rephrase": "same",
    "alter": "new",
    "fobar": "masked",
    "bf_trans": "masked",
    "expr_replace": "new",
    "harder": "new",
    "mm_numbers": "new",
    "mm_fractions": "new",
    "mm_combine": "new",
    "mm_conditional": "new",
    "mm_complex": "new",
}
MUGGLEMATH = ["mm_numbers", "mm_fractions", "mm_combine", "mm_conditional", "mm_complex"]


class ReplyError(ValueError):
    """An unusable teacher reply; the message is the reject reason."""


# --- reply parsing ------------------------------------------------------------------------------------

_LABEL = re.compile(r"^[ \t>*_#-]*(question|new question|rephrased question|masked value)[ \t*_]*:[ \t*_]*",
                    re.IGNORECASE | re.MULTILINE)  # fmt: skip
_NUMBER = re.compile(r"-?\d[\d,]*\.?\d*|-?\.\d+")


def _fields(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    matches = list(_LABEL.finditer(text))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        key = "masked value" if m.group(1).lower() == "masked value" else "question"
        if key not in found:  # the first occurrence wins (a model may repeat the format)
            found[key] = text[m.end() : end].strip()
    return found


def _clean(text: str) -> str:
    text = re.sub(r"```\w*", "", text).strip()
    text = text.strip().strip('"“”').strip()
    return re.sub(r"\n{3,}", "\n\n", text)


def numbers_in(text: str) -> list[float]:
    out = []
    for tok in _NUMBER.findall(text):
        try:
            out.append(float(tok.replace(",", "").rstrip(".")))
        except ValueError:
            continue
    return out


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def parse_reply(method: str, reply: str, source_question: str, source_answer: str | None = None) -> dict:
    """Reply -> ``{"question", ["masked_value", "known_answer"]}``; raises :class:`ReplyError` (reason)."""
    if not reply or not reply.strip():
        raise ReplyError("empty_reply")
    fields = _fields(reply)
    if "question" not in fields:
        raise ReplyError("no_question_field")
    question = _clean(fields["question"])
    if len(question) < 20:
        raise ReplyError("question_too_short")
    if len(question) > 2500:
        raise ReplyError("question_too_long")
    if not re.search(r"\d", question) and method not in ("mm_fractions", "rephrase"):
        raise ReplyError("question_has_no_numbers")
    if _norm(question) == _norm(source_question):
        raise ReplyError("same_as_source")
    out: dict = {"question": question}
    if method == "rephrase" and sorted(numbers_in(question)) != sorted(numbers_in(source_question)):
        raise ReplyError("rephrase_changed_numbers")
    if METHODS.get(method) == "masked":
        masked = _clean(fields.get("masked value", ""))
        values = numbers_in(masked)
        if not values:
            raise ReplyError("no_masked_value")
        mv = values[0]
        if not any(abs(mv - q) < 1e-9 for q in numbers_in(source_question)):
            raise ReplyError("masked_value_not_in_source")
        out["masked_value"] = _fmt_num(mv)
        if method == "fobar":
            if not re.search(r"\bX\b", question):
                raise ReplyError("fobar_no_variable_x")
            known = numbers_in(source_answer or "")
            if not known or not any(abs(known[-1] - v) < 1e-9 for v in numbers_in(question)):
                raise ReplyError("fobar_known_answer_missing")
            out["known_answer"] = _fmt_num(known[-1])
        else:
            if re.search(r"\bX\b", question):
                raise ReplyError("bf_trans_still_has_variable")
            known = numbers_in(source_answer or "")
            if known and not any(abs(known[-1] - v) < 1e-9 for v in numbers_in(question)):
                raise ReplyError("bf_trans_known_answer_missing")
    return out


def _fmt_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.10g}"


# --- the runner ---------------------------------------------------------------------------------------


def gold_for(method: str, problem, parsed: dict) -> str | None:
    kind = METHODS[method]
    if kind == "same":
        return problem.gold
    if kind == "masked":
        return parsed["masked_value"]
    return None


async def _augment_async(problems, prompts: dict[str, Prompt], backend, params, output, advance, max_tasks):
    counts: Counter = Counter()
    sem = asyncio.Semaphore(max_tasks)

    async def one(problem, method: str):
        prompt = prompts[method]
        done = {s for s in range(params.n) if output.done((problem.id, method, s))}
        if len(done) == params.n:
            counts["resumed"] += params.n
            advance(1)
            return
        text = prompt.render(problem.question, problem.gold, problem.solution)
        async with sem:
            try:
                completions = await backend.agenerate(text, params)
            except Exception as exc:  # noqa: BLE001 - one failed request must not stop the others
                # not written as a reject: a transient outage must not mark the work done; a re-run retries it
                counts["request_failed"] += 1
                counts[f"request_failed_{type(exc).__name__}"] += 1
                advance(1)
                return
        for s, comp in enumerate(completions):
            if s in done:
                continue
            try:
                if comp.finish_reason == "length":
                    raise ReplyError("truncated")
                parsed = parse_reply(method, comp.text, problem.question, problem.gold)
            except ReplyError as exc:
                output.reject(_reject(problem, prompt, s, comp.text), str(exc))
                counts[f"reject_{exc}"] += 1
                continue
            output.keep(QuestionRow(
                id=f"{problem.id}/{prompt.name}/{s}",
                source_id=problem.id,
                method=method,
                question=parsed["question"],
                gold=gold_for(method, problem, parsed),
                answer_source=METHODS[method],
                prompt=prompt.name,
                sample=s,
                seed=params.seed,
                masked_value=parsed.get("masked_value"),
                known_answer=parsed.get("known_answer"),
                teacher=backend.name,
                tokens=comp.tokens,
            ))  # fmt: skip
            counts["accepted"] += 1
        advance(1)

    try:
        await asyncio.gather(*(one(p, m) for p in problems for m in prompts))
    finally:
        await backend.aclose()
    return counts


def _reject(problem, prompt: Prompt, sample: int, reply: str) -> dict:
    return {"id": f"{problem.id}/{prompt.name}/{sample}", "source_id": problem.id, "method": prompt.method,
            "prompt": prompt.name, "sample": sample, "reply": (reply or "")[:2000]}  # fmt: skip


def augment_questions(problems, methods: list[str], backend, params, output, advance=None, max_tasks=64,
                      prompt_dir=None):  # fmt: skip
    """Ask the teacher for ``params.n`` new questions per (problem, method); accepted questions are kept in
    ``output`` (a :class:`~mathforge.stage_output.StageOutput` keyed by ``(source_id, method, sample)``) as
    :class:`~mathforge.rows.QuestionRow`, unusable replies rejected with a reason. Returns counts."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown augmentation method(s) {unknown}; choose from {sorted(METHODS)}")
    prompts = {m: load_prompt(m, prompt_dir or PROMPT_DIR) for m in methods}
    return asyncio.run(
        _augment_async(problems, prompts, backend, params, output, advance or (lambda n=1: None), max_tasks)
    )


def row_key(row: dict):
    return (row["source_id"], row["method"], row["sample"])
