"""Teacher solution synthesis: k CoT and k code-nested paths per question, then the filters.

Generation writes every sample to ``<out>.samples.jsonl`` as it arrives (append-only, keyed by
``(question id, mode, sample)``), so a killed run resumes where it stopped and, with the request cache,
re-running costs nothing. The filters then run over all samples (cheap, deterministic) and write the
final ``<out>`` in one go, counting what each filter removed:

1. ``no_answer``: no final answer could be extracted;
2. ``wrong``: for questions with a known answer (originals, rephrasings, FOBAR/BF-Trans), the answer
   must equal it; for new questions, the samples' majority answer must reach ``min_agreement`` of the
   votes (otherwise the question is dropped), and samples that disagree with it are removed;
3. ``duplicate``: RFT's equation list for CoT, the normalised AST for code;
4. ``contaminated``: questions that overlap a test set (see :mod:`mathforge.synthesize.filters`).

Code-nested paths run through ``mathforge.infer.run_tir`` with the teacher as the model: when a block
raises, the error is shown in the output block and the teacher gets another turn to fix it (MuMath-Code's
self-debug); ``self_debug`` marks the kept paths that recovered from an error.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from importlib import resources
from pathlib import Path

from mathforge.rows import QuestionRow, SolutionRow


def load_questions(path_or_name, split="train", data_dir=None, limit=None) -> list[QuestionRow]:
    """Questions from ``mathforge augment`` output (question rows: ``gold`` may be null) or from any dataset
    or problem file (then every question has its gold, ``method`` is ``original``)."""
    from mathforge.rows import read_rows

    p = Path(str(path_or_name))
    from mathforge.io import DataError

    if p.suffix in (".json", ".jsonl") and p.exists() and _is_question_file(p):
        rows = [row for _, row in read_rows(p, QuestionRow)][:limit]
    else:
        from mathforge.data import load_problems

        rows = [QuestionRow(id=x.id, question=x.question, gold=x.gold, source_id=x.id)
                for x in load_problems(path_or_name, split=split, data_dir=data_dir, limit=limit)]  # fmt: skip
    if not rows:
        raise DataError("no questions: the file or split is empty", path_or_name, field="dataset")
    return rows


def _is_question_file(path: Path) -> bool:
    """Augment output (rows with a ``method``) rather than a dataset file."""
    from mathforge.io import read_json_or_jsonl

    first = next(iter(read_json_or_jsonl(path)), None)
    return first is not None and "method" in first[1]


def sample_key(row: dict):
    return (row["qid"], row["mode"], row["sample"])


PROMPT_DIR = Path(str(resources.files("mathforge.synthesize") / "prompts"))


def _prompter(kind: str, style: str):
    """question -> prompt: the packaged teacher instruction, or a training prompt format (plain/tora)."""
    from mathforge.llm.prompts import load_prompt
    from mathforge.solution import build_prompt

    if style == "teacher":
        prompt = load_prompt(kind, PROMPT_DIR)
        return prompt.name, prompt.render
    return f"format:{style}", lambda q: build_prompt(q, style)


def generate_cot(questions, backend, params, k: int, samples, advance, style: str = "teacher") -> list[dict]:
    """k chain-of-thought samples per question (skipping those already in ``samples``). Returns the failed
    requests (question id and error): nothing is written for them, so a re-run retries them."""
    import asyncio

    from mathforge.answer import extract_answer

    prompt_name, render = _prompter("cot_solution", style)
    todo = [q for q in questions if any((q.id, "cot", s) not in samples.done for s in range(k))]
    advance(len(questions) - len(todo))
    p = params.with_(n=k)

    failed: list[dict] = []

    async def run():
        sem = asyncio.Semaphore(32)

        async def one(q):
            async with sem:
                try:
                    comps = await backend.agenerate(render(q.question), p)
                except Exception as exc:  # noqa: BLE001 - one failed request must not stop the others
                    failed.append({"qid": q.id, "mode": "cot", "error": f"{type(exc).__name__}: {exc}"[:500]})
                    advance(1)
                    return
            for s, c in enumerate(comps):
                if (q.id, "cot", s) not in samples.done:
                    samples.write({"qid": q.id, "mode": "cot", "sample": s, "text": c.text,
                                   "answer": extract_answer(c.text), "finish": c.finish_reason,
                                   "tokens": c.tokens, "self_debug": False, "prompt": prompt_name})  # fmt: skip
            advance(1)

        try:
            await asyncio.gather(*(one(q) for q in todo))
        finally:
            await backend.aclose()

    asyncio.run(run())
    return failed


def generate_code(
    questions, backend, params, k: int, samples, sandbox, max_rounds: int, advance, style: str = "teacher"
) -> list[dict]:
    """k code-nested samples per question through the tool-integrated loop (teacher = model). Returns the
    samples whose requests failed (not written: a re-run retries them)."""
    from mathforge.infer import run_tir

    prompt_name, render = _prompter("code_solution", style)
    skip = {(qid, s) for (qid, mode, s) in samples.done if mode == "code"}
    prompts = {q.id: render(q.question) for q in questions}
    counted: Counter = Counter()
    lock = threading.Lock()  # on_done may run on the HTTP driver's worker thread

    def on_done(traj) -> None:
        with lock:
            _record(traj)

    def _record(traj) -> None:
        statuses = [e.status for e in traj.executions]
        failed_then_ok = any(st not in ("ok", "truncated") for st in statuses[:-1]) and bool(statuses) and (
            statuses[-1] in ("ok", "truncated"))  # fmt: skip
        samples.write({"qid": traj.problem_id, "mode": "code", "sample": traj.sample, "text": traj.text,
                       "answer": traj.answer, "finish": traj.finish, "tokens": traj.tokens,
                       "self_debug": failed_then_ok, "executions": statuses, "prompt": prompt_name})  # fmt: skip
        counted[traj.problem_id] += 1
        if counted[traj.problem_id] == k:
            advance(1)

    trajs = run_tir(backend, questions, mode="tir", n=k, params=params, max_rounds=max_rounds, sandbox=sandbox,
                    prompts=prompts, skip=skip, on_done=on_done)  # fmt: skip
    return [
        {"qid": t.problem_id, "mode": "code", "sample": t.sample, "error": t.error} for t in trajs if t.error
    ]


def filter_samples(questions, samples: list[dict], grader, min_agreement: float, index=None, fmt="tora"):
    """Apply the filters; returns (kept :class:`SolutionRow` s, counts removed per filter)."""
    from mathforge.synthesize.filters import code_key, cot_key, dedup, majority

    equiv_many = grader.equiv_many

    by_q: dict[str, list[dict]] = defaultdict(list)
    for s in samples:
        by_q[s["qid"]].append(s)
    removed: Counter = Counter()
    kept_rows: list[dict] = []
    for q in questions:
        rows = sorted(by_q.get(q.id, []), key=lambda r: (r["mode"], r["sample"]))
        removed["generated"] += 0  # keep the key order stable in stats
        with_answer = [r for r in rows if r.get("answer")]
        removed["no_answer"] += len(rows) - len(with_answer)
        if q.gold is not None:
            verdicts = equiv_many([(r["answer"], q.gold) for r in with_answer]) if with_answer else []
            correct = [r for r, ok in zip(with_answer, verdicts, strict=True) if ok]
            gold = q.gold
        else:
            best, classes = majority([r["answer"] for r in with_answer], equiv_many, min_agreement)
            if best is None:
                removed["no_majority"] += len(with_answer)
                continue
            correct = [r for r, c in zip(with_answer, classes, strict=True) if c == best]
            gold = correct[0]["answer"]
        removed["wrong"] += len(with_answer) - len(correct)
        cot, n1 = dedup([r for r in correct if r["mode"] == "cot"], lambda r: cot_key(r["text"]))
        code, n2 = dedup([r for r in correct if r["mode"] == "code"], lambda r: code_key(r["text"], fmt))
        removed["duplicate"] += n1 + n2
        survivors = cot + code
        if index is not None and survivors and index.contaminated(q.question):
            removed["contaminated"] += len(survivors)
            continue
        for r in survivors:
            kept_rows.append(SolutionRow(
                id=f"{q.id}/{r['mode']}/{r['sample']}",
                qid=q.id,
                source_id=q.source_id,
                method=q.method,
                question=q.question,
                mode=r["mode"],
                format=fmt,
                solution=r["text"],
                answer=r["answer"],
                gold=gold,
                gold_from="label" if q.gold is not None else "majority_vote",
                self_debug=r.get("self_debug", False),
                prompt_version=r.get("prompt"),
            ))  # fmt: skip
    removed.pop("generated", None)
    return kept_rows, dict(removed)
