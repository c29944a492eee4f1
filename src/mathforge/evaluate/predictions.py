"""The prediction log of an evaluation: ``config.json``, the resume check, and grade-and-write per sample.

Every finished trajectory is graded and appended to ``predictions.jsonl`` at once (flushed before the next
one), so a killed run loses at most the samples in flight, and a re-run skips every (problem, sample)
already written. A re-run with settings that change what a sample is (the config's ``resume`` settings:
model, mode, sampling, prompt format, ...) is refused: mixing them would make the metrics meaningless.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from mathforge.io import DataError, write_json
from mathforge.rows import ExecutionRecord, PredictionRow, RowLog


class PredictionLog:
    """``out/predictions.jsonl`` plus the run's ``config.json``. Thread-safe :meth:`record`."""

    def __init__(self, out: Path, config: dict, resume_keys: list[str], grader):
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.rows = RowLog(self.out / "predictions.jsonl", PredictionRow, key=PredictionRow.key)
        if self.rows.rows:  # only rows already written bind the settings (a failed start binds nothing)
            try:
                check_resume(self.out / "config.json", config, resume_keys)
            except DataError:
                self.rows.close()
                raise
        write_json(self.out / "config.json", config)
        self.config = config
        self.grader = grader
        self.resumed = len(self.rows.rows)
        self._lock = threading.Lock()  # the HTTP driver records from worker threads
        self.started = time.perf_counter()
        self.new_samples = self.new_tokens = self.new_problems = 0
        self._left: dict[str, int] = {}
        self._on_record = None
        self.failed: list[
            dict
        ] = []  # samples whose requests failed this run (not recorded: a re-run retries)
        self.backend_stats: dict = {}  # the backend's counters at the end of the run (metrics.json "backend")

    def todo(self, problems, n: int) -> int:
        """How many (problem, sample) pairs are not written yet (and remember them for progress)."""
        self._left = {
            str(p.id): sum((str(p.id), s) not in self.rows.done for s in range(n)) for p in problems
        }
        return sum(self._left.values())

    def record(self, traj, problem) -> PredictionRow:
        """Grade one finished trajectory and append its row."""
        with self._lock:
            options = (problem.meta or {}).get("grading")
            verdict = (
                self.grader.grade(traj.answer, problem.gold, options) if traj.answer is not None else None
            )
            row = prediction_row(traj, problem, verdict)
            self.rows.append(row)
            self.new_samples += 1
            self.new_tokens += traj.tokens
            self._left[row.id] = self._left.get(row.id, 1) - 1
            self.new_problems += self._left[row.id] == 0
            if self._on_record is not None:
                self._on_record(self)
            return row

    def on_record(self, callback) -> None:
        """``callback(log)`` after each row (progress display)."""
        self._on_record = callback

    @property
    def elapsed(self) -> float:
        return max(1e-9, time.perf_counter() - self.started)

    def timing(self) -> dict:
        wall = self.elapsed
        new = self.rows.rows[self.resumed :]
        return {
            "wall_seconds": round(wall, 3),
            "samples_this_run": self.new_samples,
            "resumed_samples": self.resumed,
            "tokens_this_run": self.new_tokens,
            "tokens_per_second": self.new_tokens / wall,
            "problems_per_second": self.new_problems / wall,
            "generation_seconds": sum(r.gen_seconds for r in new),
            "execution_seconds": sum(r.exec_seconds for r in new),
        }

    def close(self) -> None:
        self.rows.close()

    def __enter__(self) -> PredictionLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def prediction_row(traj, problem, verdict) -> PredictionRow:
    """The row of one graded trajectory (``verdict`` None: no answer was extracted)."""
    meta = problem.meta or {}
    return PredictionRow(
        id=traj.problem_id,
        sample=traj.sample,
        gold=problem.gold,
        dataset=problem.dataset or "",
        subject=meta.get("subject"),
        level=meta.get("level"),
        prompt=traj.prompt if isinstance(traj.prompt, str) else json.dumps(traj.prompt, ensure_ascii=False),
        mode=traj.mode,
        text=traj.text,
        executions=[
            ExecutionRecord(
                code=e.code, output=e.output, status=e.status, duration=e.duration, replaced=e.replaced
            )
            for e in traj.executions
        ],  # fmt: skip
        rounds=traj.rounds,
        tokens=traj.tokens,
        finish=traj.finish,
        answer=traj.answer,
        correct=bool(verdict and verdict.correct),
        grade_status=verdict.status if verdict else "no_answer",
        gen_seconds=traj.gen_seconds,
        exec_seconds=traj.exec_seconds,
        grading=meta.get("grading"),
    )


def check_resume(path: Path, config: dict, keys: list[str]) -> None:
    if not path.exists():
        return
    old = json.loads(path.read_text(encoding="utf-8"))
    diff = {k: (old.get(k), config.get(k)) for k in keys if old.get(k) != config.get(k)}
    if diff:
        detail = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in diff.items())
        raise DataError(
            f"predictions here were made with other settings ({detail}); use another --out",
            path,
            field=next(iter(diff)),
        )
