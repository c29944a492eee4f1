"""Run the demo's model runs (train, then evaluate) in worker processes, a few at a time.

Why processes and not threads: a model this small gets nothing from a second intra-op thread (its
matrices are too small for the split to pay), but two independent trainings on two cores finish in the
time of one. Each worker runs torch on one thread, so every reduction has a fixed order and a run's
numbers are the same whatever runs beside it and in whatever order the scheduler starts them.

A worker writes its own log (``OUT/logs/KEY.log``: transformers' and TRL's messages) and a small progress
file the parent polls to draw one progress bar per running job. Workers die with the parent
(``PR_SET_PDEATHSIG``), so a killed demo leaves no orphan training behind; what they finished stays on disk
and the next run skips it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from transformers import TrainerCallback


def write_progress(path: Path, **fields) -> None:
    """Atomically replace the progress file (the parent may read it at any moment)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(fields))
    os.replace(tmp, path)


def read_progress(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


class ProgressFile(TrainerCallback):
    """Trainer callback: stage (its output folder's name), step, total steps and last logged loss."""

    def __init__(self, path: Path, every: int = 5):
        self.path, self.every, self.loss = path, every, None

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.loss = float(logs["loss"])

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % self.every == 0 or state.global_step == state.max_steps:
            write_progress(
                self.path, phase=f"train {Path(args.output_dir).name}", step=state.global_step, total=state.max_steps,
                loss=self.loss,
            )  # fmt: skip


def init_worker(threads: int) -> None:
    """Process initializer: a fixed torch thread count, quiet libraries, death with the parent."""
    import signal

    os.environ["MATHFORGE_NO_PROGRESS"] = "1"  # no tqdm/rich bars from inside a worker
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from mathforge.sandbox.isolation import PR_SET_PDEATHSIG, prctl

        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except Exception:  # not Linux: a killed parent leaves the worker to finish its job
        pass
    import torch

    # One intra-op thread makes every CPU kernel's reduction order fixed, so runs repeat bit for bit.
    # (torch.use_deterministic_algorithms is not used: it also fills every new tensor with NaN, which on
    # a CPU doubled the step time through page faults, and it changes nothing a single thread does.)
    torch.set_num_threads(threads)


@contextmanager
def _timed(timings: dict, phase: str):
    started, cpu0 = time.perf_counter(), time.process_time()
    yield
    timings[phase] = {
        "seconds": round(time.perf_counter() - started, 2),
        "cpu_seconds": round(time.process_time() - cpu0, 2),
    }


def run_job(job: dict) -> dict:
    """Train every stage of one model run (finished stages are skipped), then evaluate it.

    ``job`` holds plain data: ``recipe`` (a train recipe dict), ``evaluate`` (the settings of a
    :class:`mathforge.evaluate.EvaluateConfig`, or None: train only), ``check`` (the :class:`HeldOutCheck`
    of the last stage, or None) and the paths of its ``log`` and ``progress`` files. Returns the wall and
    CPU seconds of each phase.
    """
    import logging

    log_path, progress = Path(job["log"]), Path(job["progress"])
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", buffering=1) as log_file:
        os.dup2(log_file.fileno(), 1)  # C-level output (warnings printed by libraries) goes there too
        os.dup2(log_file.fileno(), 2)
        sys.stdout = sys.stderr = log_file
        logging.basicConfig(stream=log_file, level=logging.WARNING, force=True)
        if job.get("mario"):
            return _mario_rows(job["mario"], progress)
        from mathforge.evaluate import EvaluateConfig
        from mathforge.evaluate import run as evaluate
        from mathforge.train import SUMMARY, train

        timings = {}
        out_dir = Path(job["recipe"]["output_dir"])
        last = job["recipe"]["stages"][-1]["name"]
        if not (out_dir / last / SUMMARY).exists():
            callbacks = [ProgressFile(progress)]
            if job.get("check"):
                c = job["check"]
                rows = [json.loads(line) for line in Path(c["file"]).read_text().splitlines()]
                callbacks.append(HeldOutCheck(last, rows, c["kind"], c["every"], c["target"], c["max_tokens"],
                                              out_dir / last / "check.json", progress))  # fmt: skip
            with _timed(timings, "train"):
                train(job["recipe"], callbacks=callbacks)  # finished stages are skipped
        if job.get("evaluate") and not (Path(job["evaluate"]["out"]) / "metrics.json").exists():
            write_progress(progress, phase="evaluate", step=0, total=0, loss=None)
            with _timed(timings, "evaluate"):
                evaluate(EvaluateConfig(**job["evaluate"]))
        sys.stdout.flush()
    return timings


def _mario_rows(spec: dict, progress: Path) -> dict:
    """The MARIO job: model (c)'s OVM and self-training rows (``rows``) and the timing of each (``timings``)."""
    from mathforge.demo.config import DemoConfig
    from mathforge.demo.pipeline import Demo

    cfg = DemoConfig(**{**spec["config"], "aug_copies": tuple(spec["config"]["aug_copies"])})
    demo = Demo(spec["out"], cfg)
    write_progress(progress, phase="OVM data, value model, self-training", step=0, total=0, loss=None)
    rows = demo.mario_rows(save_timings=False)
    names = [name for name, _, _ in demo.mario_steps()]
    sys.stdout.flush()
    return {"rows": rows, "timings": {name: demo.timings[name] for name in names if name in demo.timings}}


class HeldOutCheck(TrainerCallback):
    """Trainer callback: every ``every`` steps of stage ``stage``, solve a small held-out check set greedily
    and stop training once the share solved reaches ``target`` (the step cap still applies).

    Why: a tiny model learns its task abruptly, at a step that the seed and floating-point details decide, so
    a fixed step count is too short on one machine and wasted on another. The check set is drawn from the
    training distribution (never the test set). A code model passes a problem when its program is exactly
    the reference program (no interpreter needed); a CoT model when its boxed answer is the gold; the copy
    pre-training when it writes the expected completion exactly. Every
    check is written to ``path`` (the stage's check.json) for the report.
    """

    def __init__(self, stage: str, rows: list[dict], kind: str, every: int, target: float, max_tokens: int,
                 path: Path, progress: Path | None = None, batch: int = 64):  # fmt: skip
        self.stage, self.rows, self.kind, self.every, self.target = stage, rows, kind, every, target
        self.max_tokens, self.path, self.progress, self.batch = max_tokens, Path(path), progress, batch
        self.history: list[dict] = []

    def _active(self, args) -> bool:
        return Path(args.output_dir).name == self.stage

    def score(self, model, tokenizer) -> float:
        import torch

        from mathforge.answer import extract_answer

        was_training, side = model.training, tokenizer.padding_side
        model.eval()
        tokenizer.padding_side = "left"
        solved = 0
        try:
            for i in range(0, len(self.rows), self.batch):
                chunk = self.rows[i : i + self.batch]
                enc = tokenizer([r["prompt"] for r in chunk], return_tensors="pt", padding=True)
                with torch.no_grad():
                    out = model.generate(**enc, max_new_tokens=self.max_tokens, do_sample=False,
                                         pad_token_id=tokenizer.pad_token_id)  # fmt: skip
                texts = tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
                for row, text in zip(chunk, texts, strict=True):
                    if self.kind == "code":
                        solved += _program_of(text) == row["program"]
                    elif self.kind == "copy":
                        solved += text.strip() == row["completion"]
                    else:
                        solved += extract_answer(text) == row["gold"]
        finally:
            tokenizer.padding_side = side
            model.train(was_training)
        return solved / len(self.rows)

    def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        step = state.global_step
        if not self._active(args) or step % self.every or step >= state.max_steps:
            return
        share = self.score(model, processing_class)
        self.history.append({"step": step, "solved": share})
        self.path.write_text(json.dumps({"target": self.target, "history": self.history}))
        if self.progress is not None:
            write_progress(self.progress, phase=f"train {self.stage}", step=step, total=state.max_steps,
                           loss=None, check=share)  # fmt: skip
        if share >= self.target:
            control.should_training_stop = True

    def on_train_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        # the final model's score, also when the step cap ended training
        if self._active(args) and (not self.history or self.history[-1]["step"] != state.global_step):
            self.history.append({"step": state.global_step, "solved": self.score(model, processing_class)})
            self.path.write_text(json.dumps({"target": self.target, "history": self.history}))


def _program_of(text: str) -> str | None:
    """The first python block of a ToRA-format completion."""
    start = text.find("```python\n")
    if start < 0:
        return None
    end = text.find("\n```", start + 10)
    return text[start + 10 : end] if end >= 0 else None
