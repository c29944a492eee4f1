"""The offline end-to-end demo: data -> tiny model -> three trainings -> evaluation -> report.

Every stage goes through the project's own packages: ``mathforge.train.init_model`` / ``train`` (TRL) for
the models, ``mathforge.evaluate.evaluate`` (tool-integrated loop + sandbox + grader) for the scores.
Each stage leaves its output in ``out``; a re-run skips stages whose output is complete (training stages
via ``train_summary.json``, evaluations via ``metrics.json``, the data via its manifest).

Layout of ``out``::

    data/       cot.jsonl, code_x{K}.jsonl (base + K re-draws per problem), test.jsonl, copy.jsonl (copy
                pre-training), copy-replay.jsonl (copy rows rehearsed in the CoT stage),
                check-{copy,cot,code}.jsonl (held-out checks), manifest.json
    init/       tokenizer + randomly initialised Llama
    base/       the same after copy pre-training: the starting point of every model
    train/      one folder per training stage (cot, code-scratch, code-after-cot-x{K}); each holds
                check.json, the held-out check that ended its training
    eval/       one `mathforge evaluate` output per model
    report.md, accuracy.png, scaling.png, results.json
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from mathforge.demo.config import DemoConfig
from mathforge.io import write_json, write_jsonl


@dataclass
class ModelRun:
    """One evaluated model: (a) CoT, (b) code, (c) two-stage (one per augmentation size)."""

    key: str
    label: str
    stages: list[dict]  # train-recipe stages, in order (earlier ones are shared and skipped when done)
    mode: str  # evaluate mode: cot | tir
    code_examples: int = 0
    after: tuple[str, ...] = ()  # keys of runs it needs besides the one it continues (the MARIO job: "c")


class Demo:
    def __init__(self, out: str | Path, cfg: DemoConfig, console=None):
        from rich.console import Console

        self.out = Path(out)
        self.cfg = cfg
        self.console = console or Console()
        self.timings: dict[str, dict] = self._load_timings()
        self._mario: list[dict] | None = None  # the MARIO rows, when a worker made them in this run

    # ---------------------------------------------------------------- bookkeeping
    def _load_timings(self) -> dict:
        path = self.out / "timings.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def _stage(self, i: int, n: int, name: str, fn, done: bool):
        """Run one stage with a header line; record its wall time (kept from the first run if skipped)."""
        if done:
            self.console.print(f"[dim][{i}/{n}] {name}: already done, skipped[/dim]")
            self.timings.setdefault(name, {"seconds": None})["skipped"] = True
            return None
        self.console.rule(f"[bold][{i}/{n}] {name}")
        started, cpu0 = time.perf_counter(), _cpu_seconds()
        result = fn()
        seconds = round(time.perf_counter() - started, 2)
        # CPU seconds (this process and its children) do not grow when other jobs share the machine
        self.timings[name] = {
            "seconds": seconds,
            "cpu_seconds": round(_cpu_seconds() - cpu0, 2),
            "skipped": False,
        }
        write_json(self.out / "timings.json", self.timings)
        self.console.print(f"[green]{name}: done in {seconds:.1f}s")
        return result

    # ---------------------------------------------------------------- stages
    def build_data(self) -> None:
        from mathforge.demo.solutions import code_solution, cot_solution, program
        from mathforge.demo.tasks import check_problems, copy_rows, generate, redraw
        from mathforge.solution import build_prompt

        cfg, data = self.cfg, self.out / "data"
        base, test = generate(cfg.seed, cfg.n_base, cfg.n_test)
        extra = redraw(base, max(cfg.aug_copies), cfg.seed)  # copy c of every problem, then copy c+1, ...
        full = base + extra
        write_jsonl(
            data / "cot.jsonl",
            ({"id": p.id, "question": p.question, "solution": cot_solution(p)} for p in full),
        )
        for k in cfg.aug_copies:
            rows = base + extra[: k * len(base)]
            write_jsonl(
                data / f"code_x{k}.jsonl",
                ({"id": p.id, "question": p.question, "solution": code_solution(p)} for p in rows),
            )
        write_jsonl(
            data / "test.jsonl",
            (
                {
                    "id": p.id,
                    "question": p.question,
                    "gold": str(p.answer),
                    "dataset": "demo",
                    "split": "test",
                    "meta": {"subject": f"unseen {p.heldout}", "template": p.template},
                }
                for p in test
            ),
        )
        write_jsonl(data / "copy.jsonl", copy_rows(cfg.seed, cfg.n_copy))
        write_jsonl(data / "check-copy.jsonl", copy_rows(cfg.seed, cfg.n_check, "check"))
        if cfg.n_replay:
            write_jsonl(data / "copy-replay.jsonl", copy_rows(cfg.seed, cfg.n_replay, "replay"))
        check = check_problems(cfg.seed, cfg.n_check)
        for kind in ("cot", "code"):
            write_jsonl(
                data / f"check-{kind}.jsonl",
                ({"id": p.id, "prompt": build_prompt(p.question), "gold": str(p.answer), "program": program(p)}
                 for p in check),
            )  # fmt: skip
        write_json(
            data / "manifest.json",
            {"config": cfg.to_dict(), "train_base": len(base), "augmented": len(extra), "test": len(test)},
        )

    def data_done(self) -> bool:
        path = self.out / "data" / "manifest.json"
        return path.exists() and json.loads(path.read_text())["config"] == json.loads(
            json.dumps(self.cfg.to_dict())
        )

    def build_base(self) -> None:
        """A BPE tokenizer and a random Llama (OUT/init), then copy pre-training (OUT/base) in a worker."""
        from mathforge.solution import build_prompt
        from mathforge.train import init_model

        texts = []
        for name in ("cot.jsonl", f"code_x{self.cfg.aug_copies[0]}.jsonl"):
            for line in (self.out / "data" / name).read_text().splitlines()[:500]:
                row = json.loads(line)
                texts.append(build_prompt(row["question"]) + row["solution"])
        if not (self.out / "init" / "init_info.json").exists():
            init_model(
                self.out / "init",
                "tiny",
                texts=texts,
                vocab_size=self.cfg.vocab_size,
                seed=self.cfg.seed,
                **self.cfg.model,
            )
        c = self.cfg
        if c.steps_copy == 0:  # copy pre-training off: the base is the random initialisation itself
            import shutil

            from mathforge.train import SUMMARY

            shutil.copytree(self.out / "init", self.out / "base", dirs_exist_ok=True)
            write_json(self.out / "base" / SUMMARY, {"global_step": 0, "train_runtime_s": 0.0,
                                                     "note": "copy pre-training off (steps_copy=0)"})  # fmt: skip
            return
        stage = {**self._stage_cfg("base", "copy.jsonl", c.steps_copy), "batch_size": c.copy_batch,
                 "lr": c.copy_lr, "lr_scheduler": "constant_with_warmup",
                 "warmup_ratio": min(0.5, 20 / c.steps_copy)}  # fmt: skip
        recipe = {"output_dir": str(self.out), "base_model": str(self.out / "init"), "stages": [stage]}
        logs = self.out / "logs"
        check = {"file": str(self.out / "data" / "check-copy.jsonl"), "kind": "copy", "every": c.check_every,
                 "target": c.copy_check_target, "max_tokens": 64}  # fmt: skip
        job = {"recipe": recipe, "evaluate": None, "check": check, "log": str(logs / "base.log"),
               "progress": str(logs / "base.progress.json")}  # fmt: skip
        # the only job running: it gets every worker's threads (the other cores would idle)
        self._run_jobs([(ModelRun("base", "copy pre-training", [stage], "cot"), job)], [],
                       threads=c.threads * c.parallel)  # fmt: skip

    def base_done(self) -> bool:
        from mathforge.train import SUMMARY

        return (self.out / "base" / SUMMARY).exists()

    def _stage_cfg(self, name: str, data: str, steps: int) -> dict:
        c = self.cfg
        return dict(
            name=name,
            data=[str(self.out / "data" / data)],
            max_steps=steps,
            lr=c.lr,
            batch_size=c.batch_size,
            max_length=512,
            warmup_ratio=0.05,
            save_steps=0,
            logging_steps=10,
            seed=c.seed,
            prompt_format="plain",
            solution_format="tora",
            # no packing: without flash-attention a packed batch is one long row whose attention cost is
            # quadratic in batch x length; padding short rows is far cheaper on a CPU
            packing=False,
        )

    def runs(self) -> list[ModelRun]:
        c = self.cfg
        cot = self._stage_cfg("cot", "cot.jsonl", c.steps_cot)
        if c.steps_copy > 0 and c.n_replay > 0:  # rehearse the base's copying (see DemoConfig.n_replay)
            cot["data"].append(str(self.out / "data" / "copy-replay.jsonl"))
        biggest = max(c.aug_copies)
        n_code = {k: c.n_base * (1 + k) for k in c.aug_copies}
        scratch = self._stage_cfg("code-scratch", f"code_x{biggest}.jsonl", c.steps_code)
        out = [ModelRun("a", "(a) CoT only", [cot], "cot"), None]
        for k in sorted(c.aug_copies, reverse=True):  # the largest is model (c); smaller ones: scaling curve
            stage2 = self._stage_cfg(f"code-after-cot-x{k}", f"code_x{k}.jsonl", c.steps_stage2)
            key = "c" if k == biggest else f"c-x{k}"
            label = "(c) two-stage CoT -> code" if k == biggest else f"(c) with {n_code[k]} code examples"
            out.append(ModelRun(key, label, [cot, stage2], "tir", n_code[k]))
        # order of work: (a), (c), (b), then the scaling points, so the headline gap is known first
        out[1] = out.pop(2)
        out.insert(2, ModelRun("b", "(b) code-nested only", [scratch], "tir", n_code[biggest]))
        return out

    def train_done(self, run: ModelRun) -> bool:
        from mathforge.train import SUMMARY

        return (self.out / "train" / run.stages[-1]["name"] / SUMMARY).exists()

    def eval_done(self, run: ModelRun) -> bool:
        return (self.out / "eval" / run.key / "metrics.json").exists()

    def eval_config(self, run: ModelRun) -> dict:
        """The :class:`mathforge.evaluate.EvaluateConfig` of one model run (as plain data for a worker)."""
        from mathforge.evaluate import EvaluateConfig

        c = self.cfg
        return EvaluateConfig(
            model=str(self.out / "train" / run.stages[-1]["name"]),
            dataset=str(self.out / "data" / "test.jsonl"),
            mode=run.mode,
            max_rounds=c.max_rounds,
            out=str(self.out / "eval" / run.key),
            batch_size=c.eval_batch,
            max_tokens=c.max_tokens_cot if run.mode == "cot" else c.max_tokens_code,
            sandbox_workers=c.threads,
            grade_workers=c.threads,
            seed=c.seed,
        ).model_dump()

    def check(self, run: ModelRun) -> dict:
        """The held-out check that ends the training of the run's last stage."""
        c = self.cfg
        kind = "cot" if run.mode == "cot" else "code"
        return {
            "file": str(self.out / "data" / f"check-{kind}.jsonl"),
            "kind": kind,
            "every": c.check_every,
            "target": c.check_target,
            "max_tokens": c.max_tokens_cot if kind == "cot" else c.max_tokens_code,
        }

    def job(self, run: ModelRun) -> dict:
        """One worker job (plain data): train the run's stages, then evaluate it."""
        recipe = {
            "output_dir": str(self.out / "train"),
            "base_model": str(self.out / "base"),
            "stages": run.stages,
        }
        logs = self.out / "logs"
        return {
            "recipe": recipe,
            "evaluate": self.eval_config(run),
            "check": self.check(run),
            "log": str(logs / f"{run.key}.log"),
            "progress": str(logs / f"{run.key}.progress.json"),
        }

    @staticmethod
    def depends_on(run: ModelRun, runs: list[ModelRun]) -> list[str]:
        """Runs whose final stage is an earlier stage of ``run`` (model (c) continues model (a))."""
        earlier = {s["name"] for s in run.stages[:-1]}
        return [r.key for r in runs if r is not run and r.stages[-1]["name"] in earlier] + list(run.after)

    # ---------------------------------------------------------------- driver
    def prepare(self) -> None:
        """Data and base model only (what a recipe needs before its train step)."""
        self.out.mkdir(parents=True, exist_ok=True)
        self._stage(1, 2, "data", self.build_data, self.data_done())
        self._stage(2, 2, "base model", self.build_base, self.base_done())

    def run(self) -> dict:
        from mathforge.demo.report import write_report

        self.out.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        runs = self.runs()
        n = 4
        self._stage(1, n, "data", self.build_data, self.data_done())
        self._stage(2, n, "base model", self.build_base, self.base_done())
        self.console.rule(
            f"[bold][3/{n}] train and evaluate {len(runs)} models, {self.cfg.parallel} at a time"
        )
        self.run_models(runs)  # records a train and an evaluate timing per model
        results = self.collect(runs)
        results["mario"] = self.mario_rows() if self.cfg.mario_rows else []
        results["wall_seconds_this_run"] = round(time.perf_counter() - started, 1)
        self._stage(n, n, "report", lambda: write_report(self.out, results, self.console), False)
        return results

    def run_models(self, runs: list[ModelRun]) -> None:
        """Train and evaluate every run, ``cfg.parallel`` at a time, each after the runs it continues."""
        done, todo = set(), []
        for run in runs:
            if self.train_done(run) and self.eval_done(run):
                done.add(run.key)
                for name in (self.train_name(run), self.eval_name(run)):
                    self.timings.setdefault(name, {"seconds": None})["skipped"] = True
                self.console.print(f"[dim]{run.label}: trained and evaluated before, skipped[/dim]")
            else:
                todo.append(run)
        jobs = [(run, self.job(run)) for run in todo]
        if self.cfg.mario_rows and not self.mario_done():
            # in the pool, as soon as (c) is trained: beside the last scaling runs, not after them
            jobs.append((self.mario_run(), self.mario_job()))
        if jobs:
            self._run_jobs(jobs, runs)

    def _run_jobs(
        self, todo: list[tuple[ModelRun, dict]], runs: list[ModelRun], threads: int | None = None
    ) -> None:
        """Run worker jobs, ``cfg.parallel`` at a time, each after the runs (of ``runs``) it continues, with
        ``threads`` torch threads each (default ``cfg.threads``)."""
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from mathforge.demo.workers import init_worker, run_job

        done = {r.key for r in runs if self.train_done(r) and self.eval_done(r)}
        columns = [
            TextColumn("{task.description:<34}"), BarColumn(), TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
        ]  # fmt: skip
        ctx = mp.get_context("spawn")  # a fresh interpreter per worker: no inherited torch threads or locks
        workers = max(1, min(self.cfg.parallel, len(todo)))
        with (
            Progress(*columns, console=self.console, disable=bool(os.environ.get("MATHFORGE_NO_PROGRESS"))) as bar,
            ProcessPoolExecutor(workers, mp_context=ctx, initializer=init_worker, initargs=(threads or self.cfg.threads,)) as pool,
        ):  # fmt: skip
            running: dict = {}  # future -> (run, task id, job)
            while todo or running:
                for run, job in list(todo):
                    if len(running) < workers and all(d in done for d in self.depends_on(run, runs)):
                        todo.remove((run, job))
                        Path(job["progress"]).unlink(missing_ok=True)
                        task = bar.add_task(run.label, total=None, status="starting")
                        running[pool.submit(run_job, job)] = (run, task, job)
                finished, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                for _run, task, job in running.values():
                    _show_progress(bar, task, _read_progress(Path(job["progress"])))
                for fut in finished:
                    run, task, job = running.pop(fut)
                    try:
                        timings = fut.result()
                    except Exception as exc:
                        raise RuntimeError(f"{run.label} failed: {exc} (log: {job['log']})") from exc
                    bar.update(task, status="[green]done", completed=1, total=1)
                    done.add(run.key)
                    if "mario" in job:  # its result is the rows and their timings
                        self._mario = timings["rows"]
                        self.timings.update(
                            {name: {**t, "skipped": False} for name, t in timings["timings"].items()}
                        )
                        write_json(self.out / "timings.json", self.timings)
                        continue
                    if job["evaluate"] is None:
                        continue
                    for phase, name in (("train", self.train_name(run)), ("evaluate", self.eval_name(run))):
                        self.timings[name] = {
                            **timings.get(phase, {"seconds": None}),
                            "skipped": phase not in timings,
                        }
                    write_json(self.out / "timings.json", self.timings)

    def mario_steps(self) -> tuple:
        """(name, row maker, file that exists once it is done) for each MARIO row."""
        from mathforge.demo import mario

        return (("OVM reranking of (c)", mario.ovm_row, self.out / "ovm" / "eval" / "metrics.json"),
                ("one self-training round of (c)", mario.selftrain_row, self.out / "selftrain" / "report.md"))  # fmt: skip

    def mario_done(self) -> bool:
        return all(done.exists() for _, _, done in self.mario_steps())

    @staticmethod
    def mario_run() -> ModelRun:
        """The MARIO rows as a job of the pool: no stage of its own, it needs model (c) trained."""
        return ModelRun("mario", "MARIO rows of (c)", [], "tir", after=("c",))

    def mario_job(self) -> dict:
        logs = self.out / "logs"
        return {"mario": {"out": str(self.out), "config": self.cfg.to_dict()}, "evaluate": None,
                "log": str(logs / "mario.log"), "progress": str(logs / "mario.progress.json")}  # fmt: skip

    def mario_rows(self, save_timings: bool = True) -> list[dict]:
        """Model (c) + OVM reranking, and (c) after one self-training round (demo/mario.py), each timed:
        the rows a worker made in this run, else read back or (not made yet) made here. A worker passes
        ``save_timings=False``: the parent owns timings.json."""
        import torch

        if self._mario is not None:
            return self._mario
        torch.set_num_threads(self.cfg.threads)  # as in the workers: fixed reductions, repeatable numbers
        c = next(r for r in self.runs() if r.key == "c")
        model = self.out / "train" / c.stages[-1]["name"]
        code, test = Path(c.stages[-1]["data"][0]), self.out / "data" / "test.jsonl"
        rows = []
        for name, make, done in self.mario_steps():
            if done.exists():  # finished before: read back (no training or sampling), keep its first timing
                rows.append(make(self.out, self.cfg, model, code, test))
                self.timings.setdefault(name, {"seconds": None})["skipped"] = True
                continue
            self.console.rule(f"[bold]{name}")
            started, cpu0 = time.perf_counter(), _cpu_seconds()
            rows.append(make(self.out, self.cfg, model, code, test))
            self.timings[name] = {"seconds": round(time.perf_counter() - started, 2),
                                  "cpu_seconds": round(_cpu_seconds() - cpu0, 2), "skipped": False}  # fmt: skip
            if save_timings:
                write_json(self.out / "timings.json", self.timings)
        return rows

    @staticmethod
    def train_name(run: ModelRun) -> str:
        return f"train {run.label}"

    @staticmethod
    def eval_name(run: ModelRun) -> str:
        return f"evaluate {run.label} ({run.mode})"

    def collect(self, runs: list[ModelRun]) -> dict:
        models = []
        for run in runs:
            m = json.loads((self.out / "eval" / run.key / "metrics.json").read_text())
            subjects = {k: v["accuracy"] for k, v in m.get("by_subject", {}).items()}
            steps, seconds = [], 0.0
            for stage in run.stages:
                s = json.loads((self.out / "train" / stage["name"] / "train_summary.json").read_text())
                steps.append(s["global_step"])
                seconds += s["train_runtime_s"]
            check_path = self.out / "train" / run.stages[-1]["name"] / "check.json"
            check = json.loads(check_path.read_text()) if check_path.exists() else {"history": []}
            correct = _correct_by_id(self.out / "eval" / run.key)
            models.append(
                {
                    "key": run.key,
                    "label": run.label,
                    "mode": run.mode,
                    "accuracy": m["accuracy"],
                    "by_subject": subjects,
                    "train_steps": steps,
                    "train_seconds": round(seconds, 1),
                    "eval_seconds": m["timing"]["wall_seconds"],
                    "code_examples": run.code_examples,
                    "problems": m["problems"],
                    "correct": m["correct"] if "correct" in m else round(m["accuracy"] * m["problems"]),
                    "check": check["history"][-1]["solved"] if check["history"] else None,
                    "passed_check": bool(check["history"])
                    and check["history"][-1]["solved"] >= self.cfg.check_target,
                    "per_problem": correct,
                }
            )
        by_key = {m["key"]: m for m in models}
        gap = 100 * (by_key["c"]["accuracy"] - by_key["a"]["accuracy"])
        return {
            "config": self.cfg.to_dict(),
            "models": models,
            "gap_points": round(gap, 1),
            "timings": self.timings,
        }


def _show_progress(bar, task, p: dict) -> None:
    """One worker's progress file as its bar: steps of the stage in training, or the phase it is in."""
    if p.get("phase", "").startswith("train"):
        loss = f" loss {p['loss']:.3f}" if p.get("loss") is not None else ""
        loss += f" check {100 * p['check']:.0f}%" if p.get("check") is not None else ""
        bar.update(
            task, completed=p["step"], total=p["total"], status=f"{p['phase']} {p['step']}/{p['total']}{loss}"
        )
    elif p:
        bar.update(task, status=p["phase"])


def _correct_by_id(eval_dir: Path) -> dict[str, int]:
    """Problem id -> 1 if the model solved it (from evaluate's predictions), for paired statistics."""
    path = eval_dir / "predictions.jsonl"
    out = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        row = json.loads(line)
        out[str(row["id"])] = int(bool(row.get("correct")))
    return out


def _read_progress(path: Path) -> dict:
    from mathforge.demo.workers import read_progress

    return read_progress(path)


def _cpu_seconds() -> float:
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_demo(out: str | Path, cfg: DemoConfig, console=None) -> dict:
    return Demo(out, cfg, console).run()
