"""``evaluate(...)``: run a model over a benchmark with the tool-integrated loop and grade every sample.

Outputs in ``out``: ``predictions.jsonl`` (append-only, one row per (problem, sample), written as each
sample finishes, so a killed run resumes where it stopped), ``metrics.json`` and ``report.md``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from mathforge.io import DataError, JsonlAppender, progress, write_json

# settings that change what a sample is: a resumed run must use the same ones
_RESUME_KEYS = (
    "model",
    "base_url",
    "mode",
    "temperature",
    "top_p",
    "max_rounds",
    "prompt_format",
    "fmt",
    "max_tokens",
    "seed",
)


def evaluate(
    model: str | None = None,
    base_url: str | None = None,
    dataset: str | None = None,
    data: str | None = None,
    split: str = "test",
    limit: int | None = None,
    mode: str = "tir",
    n: int = 1,
    temperature: float = 0.0,
    max_rounds: int = 4,
    prompt_format: str = "plain",
    out: str | Path = "runs/eval",
    data_dir: str | Path | None = None,
    batch_size: int = 16,
    max_tokens: int = 512,
    workers: int | None = None,
    seed: int | None = 0,
    *,
    top_p: float = 1.0,
    fmt: str = "tora",
    api: str = "completions",
    backend=None,
    problems: list | None = None,
    sandbox=None,
    show_progress: bool = True,
) -> dict:
    """Evaluate and return the metrics dict (also written to ``out/metrics.json``).

    ``model``: a ``from_pretrained`` path (in-process) or, with ``base_url``, the served model's name.
    ``problems`` / ``backend`` / ``sandbox`` may be passed in ready-made (the demo and tests do).
    ``max_tokens`` bounds each generation call (as in ToRA), not the whole trajectory.
    """
    from mathforge.answer import Grader
    from mathforge.infer import run_tir
    from mathforge.llm import GenParams, load_backend

    if n < 1:
        raise ValueError("--n must be >= 1")
    if problems is None:
        from mathforge.data import load_problems

        source = data or dataset
        if not source:
            raise ValueError("give --dataset NAME or --data FILE")
        problems = load_problems(source, split=split, data_dir=data_dir, limit=limit)
    elif limit is not None:
        problems = problems[:limit]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not problems:
        raise DataError("no problems to evaluate", data or dataset)
    name = str(data or dataset or getattr(problems[0], "dataset", None) or "problems")
    config = {
        "model": model
        or getattr(backend, "path", None)
        or getattr(backend, "model", None)
        or type(backend).__name__,
        "base_url": base_url,
        "dataset": name,
        "split": split,
        "mode": mode,
        "n": n,
        "temperature": temperature,
        "top_p": top_p,
        "max_rounds": max_rounds,
        "prompt_format": prompt_format,
        "fmt": fmt,
        "max_tokens": max_tokens,
        "seed": seed,
    }
    _check_resume(out / "config.json", config)
    write_json(out / "config.json", config)

    preds = JsonlAppender(out / "predictions.jsonl", key=lambda r: (r["id"], r["sample"]))
    own_backend = backend is None
    if own_backend:
        backend = load_backend(model, base_url, api=api, batch_size=batch_size, concurrency=batch_size)
    tokenizer = _tokenizer_for(prompt_format, backend, model, base_url)
    params = GenParams(max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed)
    gold = {str(p.id): p.gold for p in problems}
    todo_samples = sum((str(p.id), s) not in preds.done for p in problems for s in range(n))
    lock = threading.Lock()
    stats = {"samples": 0, "tokens": 0, "problems": 0}
    left = {str(p.id): sum((str(p.id), s) not in preds.done for s in range(n)) for p in problems}
    start = time.perf_counter()
    try:
        with (
            Grader(workers=workers, timeout=10.0) as grader,
            progress(f"evaluate {mode}", todo_samples, unit="samples", disable=not show_progress) as advance,
        ):

            def on_done(traj) -> None:
                with (
                    lock
                ):  # the HTTP driver calls this from worker threads; the grader pool is not shared-safe
                    g = gold[traj.problem_id]
                    verdict = grader.grade(traj.answer, g) if traj.answer is not None else None
                    row = {
                        "id": traj.problem_id,
                        "gold": g,
                        **traj.to_dict(),
                        "correct": bool(verdict and verdict.correct),
                        "grade_status": verdict.status if verdict else "no_answer",
                    }
                    del row["problem_id"]
                    preds.write(row)
                    stats["samples"] += 1
                    stats["tokens"] += traj.tokens
                    left[traj.problem_id] -= 1
                    stats["problems"] += left[traj.problem_id] == 0
                    elapsed = max(1e-9, time.perf_counter() - start)
                    advance(
                        1,
                        extra=f"{stats['problems'] / elapsed:.2f} problems/s "
                        f"{stats['tokens'] / elapsed:.0f} tok/s",
                    )

            if todo_samples:
                own_sandbox = sandbox is None and mode != "cot"
                if own_sandbox:
                    from mathforge.sandbox import Sandbox

                    sandbox = Sandbox(workers=workers)
                try:
                    run_tir(
                        backend,
                        problems,
                        mode=mode,
                        n=n,
                        params=params,
                        max_rounds=max_rounds,
                        sandbox=sandbox,
                        fmt=fmt,
                        prompt_format=prompt_format,
                        tokenizer=tokenizer,
                        skip=preds.done,
                        on_done=on_done,
                        batch_size=batch_size,
                    )
                finally:
                    if own_sandbox:
                        sandbox.close()
            wall = time.perf_counter() - start
            from mathforge.evaluate.metrics import compute_metrics, render_report

            def equiv_many(pairs):
                return [r.correct for r in grader.grade_many(pairs)]

            metrics = {"config": config, **compute_metrics(preds.rows, problems, n, equiv_many)}
    finally:
        preds.close()
        if own_backend:
            backend.close()
    run_rows = preds.rows[len(preds.rows) - stats["samples"] :]
    metrics["timing"] = {
        "wall_seconds": round(wall, 3),
        "samples_this_run": stats["samples"],
        "resumed_samples": len(preds.rows) - stats["samples"],
        "tokens_this_run": stats["tokens"],
        "tokens_per_second": stats["tokens"] / wall if wall > 0 else 0.0,
        "problems_per_second": stats["problems"] / wall if wall > 0 else 0.0,
        "generation_seconds": sum(r.get("gen_seconds", 0.0) for r in run_rows),
        "execution_seconds": sum(r.get("exec_seconds", 0.0) for r in run_rows),
    }
    write_json(out / "metrics.json", metrics)
    (out / "report.md").write_text(render_report(metrics, _example(preds.rows)), encoding="utf-8")
    return metrics


def _check_resume(path: Path, config: dict) -> None:
    if not path.exists():
        return
    import json

    old = json.loads(path.read_text(encoding="utf-8"))
    diff = {k: (old.get(k), config.get(k)) for k in _RESUME_KEYS if old.get(k) != config.get(k)}
    if diff:
        detail = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in diff.items())
        raise DataError(
            f"predictions here were made with other settings ({detail}); use another --out",
            path,
            field=next(iter(diff)),
        )


def _tokenizer_for(prompt_format: str, backend, model, base_url):
    if prompt_format != "chat" or getattr(backend, "api", "completions") == "chat":
        return None
    tok = getattr(backend, "tokenizer", None)
    if tok is None and model:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(model)  # the served model's local folder: its chat template
    return tok


def _example(rows: list[dict]) -> dict | None:
    """A correct sample that used the interpreter, else any correct one, else the first."""
    for cond in (lambda r: r["correct"] and r.get("executions"), lambda r: r["correct"], lambda r: True):
        for r in rows:
            if cond(r):
                return r
    return None
