"""``run(cfg)``: evaluate a model on problems with the tool-integrated loop and grade every sample.

The steps: load the inputs -> open the prediction log (resume check, grade-and-write per sample) -> run
the loop, which owns its sandbox -> summarize the rows -> write the report. A run that stops early (Ctrl-C,
an error) still summarizes what it finished, marked partial. A sample whose request failed (after the
backend's retries) is not recorded: the others finish, ``failed.jsonl`` lists it with the reason, the exit
code is 1, and running the same command again retries only what failed.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

from mathforge.evaluate.config import EvaluateConfig
from mathforge.evaluate.metrics import summarize
from mathforge.evaluate.predictions import PredictionLog
from mathforge.evaluate.prompting import extra_stops, prompts_for
from mathforge.evaluate.report import pick_example, render_report
from mathforge.io import DataError, progress, write_json, write_jsonl
from mathforge.shard import MANIFEST, start_ledger


def run(cfg: EvaluateConfig, *, problems: list | None = None, backend=None) -> dict:
    """Evaluate; returns the metrics (also written to ``cfg.out/metrics.json``).

    ``problems`` and ``backend`` may be passed ready-made (the demo and tests do); otherwise they come from
    ``cfg`` (``dataset``, ``model``/``base_url``), and the backend is closed at the end. With ``suite`` every
    dataset of the suite is evaluated in turn and the suite's table is returned (:mod:`.suites`).
    """
    if cfg.suite:
        from mathforge.evaluate.suites import run_suite

        return run_suite(cfg, backend)
    problems = load_inputs(cfg, problems)
    everything, problems = problems, cfg.shard_items(problems)  # --shard I/N: this process's part
    out = run_dir(cfg)
    with (
        cfg.make_grader() as grader,
        PredictionLog(out, run_config(cfg, everything, backend), cfg.resume_keys(), grader) as log,
    ):
        ledger = start_ledger(cfg, out / MANIFEST, "evaluate", everything, [str(p.id) for p in problems],
                              {"predictions": "id"}, samples=cfg.n)  # fmt: skip
        partial = None
        try:
            generate(cfg, problems, log, backend)
        except BaseException as exc:
            partial = type(exc).__name__
            raise
        finally:
            metrics = summarize_run(cfg, log, grader, partial)
            write_outputs(out, metrics, log)
        if ledger is not None:
            ledger.finish(incomplete=[f["id"] for f in log.failed])
    return metrics


def run_dir(cfg: EvaluateConfig) -> Path:
    """Where this run writes: ``out``, or ``out/shard-I-of-N`` for one shard."""
    return cfg.sharded_dir(cfg.out)


# -- 1. inputs --------------------------------------------------------------------------------------------
def load_inputs(cfg: EvaluateConfig, problems: list | None) -> list:
    if problems is None:
        problems = cfg.load_problems()
    elif cfg.limit is not None:
        problems = problems[: cfg.limit]
    if not problems:
        raise DataError("no problems to evaluate", cfg.dataset, field="dataset")
    return problems


def run_config(cfg: EvaluateConfig, problems: list, backend) -> dict:
    """What ``config.json`` records: every setting, with the dataset and model as they resolved, the dataset
    file's sha256 (a number can be traced to the exact data) and the package versions."""
    config = cfg.model_dump()
    config["dataset"] = cfg.dataset or problems[0].dataset or "problems"
    if backend is not None and not cfg.model:
        config["model"] = backend.name
    config.update(dataset_identity(cfg))
    config["versions"] = package_versions()
    return config


def dataset_identity(cfg) -> dict:
    """``dataset_file`` and ``dataset_sha256`` when the problems come from a file (else nothing)."""
    from mathforge.data import dataset_file
    from mathforge.io import file_sha256

    if not cfg.dataset:
        return {}
    try:
        path = dataset_file(cfg.dataset, cfg.split, cfg.data_dir)
    except DataError:
        return {}  # a hub dataset: no local file to hash
    return {"dataset_file": str(path), "dataset_sha256": file_sha256(path)} if path.is_file() else {}


def package_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("mathforge", "torch", "transformers", "trl", "math-verify", "openai"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


# -- 3. the loop ----------------------------------------------------------------------------------------------
def generate(cfg: EvaluateConfig, problems: list, log: PredictionLog, backend=None) -> None:
    """Run every unwritten (problem, sample) through the tool-integrated loop, recording each as it ends."""
    from mathforge.infer import run_tir
    from mathforge.llm import load_backend

    todo = log.todo(problems, cfg.n)
    if not todo:
        return
    by_id = {str(p.id): p for p in problems}
    own_backend = backend is None
    backend = load_backend(cfg) if own_backend else backend
    try:
        prompts = prompts_for(cfg, problems, backend, tokenizer_for(cfg, backend))
        sandbox = cfg.make_sandbox() if cfg.mode != "cot" else nullcontext()
        with sandbox as sb, progress(f"evaluate {cfg.mode}", todo, unit="samples") as advance:
            log.on_record(lambda lg: advance(1, extra=f"{lg.new_problems / lg.elapsed:.2f} problems/s "
                                                      f"{lg.new_tokens / lg.elapsed:.0f} tok/s"))  # fmt: skip
            trajs = run_tir(
                backend,
                problems,
                mode=cfg.mode,
                n=cfg.n,
                params=cfg.gen_params(stop=extra_stops(cfg)),
                max_rounds=cfg.max_rounds,
                sandbox=sb,
                fmt=cfg.solution_format,
                prompts=prompts,
                skip=log.rows.done,
                on_done=lambda traj: log.record(traj, by_id[traj.problem_id]),
                batch_size=cfg.batch_size,
            )
        log.failed = [{"id": t.problem_id, "sample": t.sample, "error": t.error} for t in trajs if t.error]
        log.backend_stats = backend.stats()
    finally:
        if own_backend:
            backend.close()


def tokenizer_for(cfg: EvaluateConfig, backend):
    """The tokenizer whose chat template builds ``chat`` prompts (None when the server applies its own)."""
    if cfg.prompt_format != "chat" or backend.api == "chat":
        return None
    if backend.tokenizer is not None:
        return backend.tokenizer
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(cfg.model)  # the served model's local folder: its chat template


# -- 4. summarize, 5. report ----------------------------------------------------------------------------------
def summarize_run(cfg: EvaluateConfig, log: PredictionLog, grader, partial: str | None) -> dict:
    metrics = {"config": log.config, **summarize(log.rows.rows, grader.equiv_many, cfg.n)}
    if cfg.value_model and cfg.n > 1 and not partial and log.rows.rows:
        from mathforge.evaluate.rerank_run import rerank

        result = rerank(Path(cfg.out), log.rows.rows, cfg.value_model, grader.equiv_many, cfg.rerank_thresholds,
                        cfg.solution_format, cfg.batch_size)  # fmt: skip
        metrics["rerank"] = {"rules": result["rules"], "auroc": result["auroc"]}
    if log.failed:
        partial = partial or f"{len(log.failed)} sample(s) failed: their requests did not succeed"
        metrics["failed"] = {"samples": len(log.failed), "first": log.failed[:5]}
    if partial:
        metrics["partial"] = partial
    metrics["timing"] = log.timing()
    if (
        log.backend_stats
    ):  # requests, retries; per server (several base URLs): requests, tokens, errors, latency
        metrics["backend"] = log.backend_stats
    return metrics


def write_outputs(out: Path, metrics: dict, log: PredictionLog) -> None:
    write_jsonl(out / "failed.jsonl", log.failed)  # this run's failures only: a re-run retries them
    write_json(out / "metrics.json", metrics)
    report = render_report(metrics, pick_example(log.rows.rows))
    if (out / "rerank.md").exists() and "rerank" in metrics:
        report += "\n" + (out / "rerank.md").read_text(encoding="utf-8")
    (out / "report.md").write_text(report, encoding="utf-8")
    from mathforge.view import write_beside

    write_beside(out)  # report.html: the run in a browser (never fails the run)


def report(cfg: EvaluateConfig, metrics: dict) -> int:
    """The console summary of ``mathforge evaluate``."""
    from mathforge.evaluate.metrics import score_keys

    if cfg.suite:
        from mathforge.evaluate.suites import render_suite

        print(render_suite(metrics))
        print(f"wrote {cfg.out}/suite.json, suite.md and one folder per dataset")
        return 0
    scores = "  ".join(f"{k}={100 * metrics[k]:.1f}%" for k in score_keys(metrics))
    t = metrics["timing"]
    print(f"{metrics['problems']} problems, {metrics['samples']} samples: {scores}")
    print(
        f"{t['samples_this_run']} new samples in {t['wall_seconds']:.1f}s ({t['tokens_per_second']:.0f} tok/s); "
        f"wrote {run_dir(cfg)}/predictions.jsonl, metrics.json, report.md"
    )
    if cfg.shard:
        print(f"shard {cfg.shard}: when every shard is done, `mathforge merge {cfg.out}` joins them")
    failed = metrics.get("failed", {}).get("samples", 0)
    if failed:
        first = metrics["failed"]["first"][0]
        print(f"{failed} sample(s) failed and were not recorded (e.g. {first['id']}: {first['error']}); "
              f"see {run_dir(cfg)}/failed.jsonl and run the same command again to retry them")  # fmt: skip
        return 1
    return 0
