"""The prompts of an evaluation: the format, the mode's system prompt, and k worked examples.

Examples come from a train split, never from the problems being evaluated: ``few_shot_file`` (solution
rows, e.g. ``augment code`` or ``augment rationale`` output), else the train split of ``few_shot_dataset``
(GSM8K by default: its gold rationales for ``cot``, its calculator chains converted to sandbox-checked
programs for ``tir`` and ``pot``). They are drawn with the run's seed and are the same for every problem,
so all prompts share one prefix (which a server's prefix cache and the in-process KV cache reuse).
"""

from __future__ import annotations

import random

from mathforge.evaluate.config import EvaluateConfig
from mathforge.io import DataError
from mathforge.solution import (
    SHOT_SEPARATOR,
    Code,
    build_prompt,
    get_prompt_format,
    messages,
    render,
    system_for,
)


def prompts_for(cfg: EvaluateConfig, problems: list, backend, tokenizer) -> dict:
    """Problem id -> the prompt its samples start from (a message list for a chat API)."""
    chat_api = backend.api == "chat"
    system = system_for(cfg.system_prompt, cfg.mode, "chat" if chat_api else cfg.prompt_format)
    shots = exemplars(cfg, exclude={p.question.strip() for p in problems}) if cfg.few_shot else []
    if chat_api:
        return {str(p.id): messages(p.question, system, shots) for p in problems}
    return {
        str(p.id): build_prompt(p.question, cfg.prompt_format, tokenizer, system, shots) for p in problems
    }


def extra_stops(cfg: EvaluateConfig) -> tuple[str, ...]:
    """With worked examples in a plain prompt a base model goes on to write the next question: stop there."""
    f = get_prompt_format(cfg.prompt_format)
    return (SHOT_SEPARATOR + f.prefix.strip(),) if cfg.few_shot and not f.chat and f.prefix else ()


def exemplars(cfg: EvaluateConfig, exclude: set[str]) -> list[tuple[str, str]]:
    """``cfg.few_shot`` (question, solution) pairs in the mode's form, drawn with the run's seed."""
    code = cfg.mode in ("tir", "pot")
    candidates = _from_file(cfg, code) if cfg.few_shot_file else _from_train_split(cfg, code, exclude)
    candidates = [(q, s) for q, s in candidates if q.strip() not in exclude]
    if len(candidates) < cfg.few_shot:
        source = cfg.few_shot_file or f"{cfg.few_shot_dataset} train"
        raise DataError(f"only {len(candidates)} usable examples for {cfg.few_shot}-shot {cfg.mode}", source,
                        field="few_shot")  # fmt: skip
    random.Random(f"shots-{cfg.seed}").shuffle(candidates)
    shots = candidates[: cfg.few_shot]
    return [(q, _program_only(s) if cfg.mode == "pot" else s) for q, s in shots]


def _from_file(cfg: EvaluateConfig, code: bool) -> list[tuple[str, str]]:
    from mathforge.rows import SolutionRow, read_rows

    want = "code" if code else "cot"
    return [(r.question, r.solution) for _, r in read_rows(cfg.few_shot_file, SolutionRow)
            if r.mode == want and r.question]  # fmt: skip


def _from_train_split(cfg: EvaluateConfig, code: bool, exclude: set[str]) -> list[tuple[str, str]]:
    """GSM8K-style train problems: rationales as CoT, or chains converted to programs checked in a sandbox."""
    from mathforge.augment.rationale import RationaleError, cot_row
    from mathforge.data import load_problems

    problems = load_problems(cfg.few_shot_dataset, split="train", data_dir=cfg.data_dir)
    random.Random(f"shots-{cfg.seed}").shuffle(problems)
    if not code:
        out = []
        for p in problems:
            try:
                out.append((p.question, cot_row(p).solution))
            except RationaleError:
                continue
            if len(out) >= 4 * cfg.few_shot:
                break
        return out
    from mathforge.augment.pipeline import convert_many
    from mathforge.sandbox import Sandbox

    pool = [p for p in problems if p.question.strip() not in exclude][: 8 * cfg.few_shot + 8]
    with Sandbox(workers=1, light_workers=1) as sandbox:
        return [(p.question, conv.solution) for p, conv in convert_many(pool, sandbox) if conv.ok]


def _program_only(solution: str) -> str:
    """A pot example: the first program of a code-nested solution (pot's answer is what it prints)."""
    from mathforge.solution import parse

    code = next((s.code for s in parse(solution) if isinstance(s, Code)), None)
    if code is None:
        raise DataError("a pot example needs a program", field="few_shot")
    return render([Code(code)])
