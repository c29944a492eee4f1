"""``run(cfg)`` of ``mathforge self-train``: the rounds, each a sequence of resumable steps.

Layout of ``OUT``::

    before/eval/        the starting generator on eval_dataset (when set)
    round-R/todo.jsonl  the problems this round samples (fixed once written: a resume samples the same ones)
    round-R/samples/    an evaluate run: K graded samples per todo problem (with --shard I/N: the shards'
                        samples/shard-I-of-N/ folders, and their merge beside them)
    round-R/new.jsonl   the verified, deduplicated, decontaminated new paths (solution rows)
    round-R/train/      the retrained model (a train output_dir; its stage folder is the next generator)
    round-R/eval/       that model on eval_dataset
    rounds.jsonl        one record per finished round; report.md

Sharded sampling (``--shard I/N``): each shard samples its part of the first unfinished round and stops
(:func:`sample_shard`). The run without ``--shard`` finds the shard folders, merges them (``mathforge
merge``; a missing or unfinished shard stops it, named), so evaluate resumes from the merged samples with
nothing left to sample, then verifies, retrains and evaluates, and stops after that round: the next round's
sampling is the shards' again. Every step stays resumable: a killed shard re-runs its command, a killed
finishing run re-merges (deterministic) and resumes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from mathforge.io import DataError, JsonlAppender, read_jsonl, write_jsonl
from mathforge.rows import PredictionRow, SolutionRow, read_rows, write_rows
from mathforge.selftrain.config import SelfTrainConfig


def run(cfg: SelfTrainConfig) -> list[dict]:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    problems = cfg.load_problems()
    if cfg.shard:
        return sample_shard(cfg, out, problems)
    generator = cfg.model
    before = evaluate_model(cfg, generator, out / "before" / "eval")
    with JsonlAppender(out / "rounds.jsonl", key=lambda r: r["round"]) as log:
        for r in range(1, cfg.rounds + 1):
            folder = out / f"round-{r}"
            if r in log.done:
                record = next(x for x in log.rows if x["round"] == r)
            else:
                sharded = merge_shards(cfg, folder / "samples")
                record = one_round(cfg, r, folder, problems, generator, before)
                log.write(record)
                if sharded and r < cfg.rounds:
                    print(f"round {r} was sampled in {sharded} shards and is finished: sample round {r + 1} "
                          "with the shards again (--shard I/N), then run this command again to finish it")  # fmt: skip
                    break
            generator, before = record["model"], record["accuracy_after"]
        records = list(log.rows)
    (out / "report.md").write_text(render(records), encoding="utf-8")
    return records


def sample_shard(cfg: SelfTrainConfig, out: Path, problems: list) -> list[dict]:
    """``--shard I/N``: this shard's samples of the first unfinished round (the finished rounds' records)."""
    records = [row for _, row in read_jsonl(out / "rounds.jsonl")] if (out / "rounds.jsonl").exists() else []
    done = {x["round"]: x for x in records}
    r = next((i for i in range(1, cfg.rounds + 1) if i not in done), None)
    if r is None:
        print(f"all {cfg.rounds} rounds are finished: nothing to sample")
        return records
    generator = done[r - 1]["model"] if r > 1 else cfg.model
    folder = out / f"round-{r}"
    _, todo = round_todo(cfg, r, folder, problems)  # the same file for every shard (written atomically)
    if todo:
        sample(cfg, generator, folder / "todo.jsonl", folder / "samples")
    print(f"round {r}, shard {cfg.shard}: sampled {len(cfg.shard_items(todo))} of {len(todo)} problems; when "
          "every shard is done, run this command without --shard to merge them and finish the round")  # fmt: skip
    return records


def merge_shards(cfg: SelfTrainConfig, samples: Path) -> int:
    """A round sampled with ``--shard I/N``: join the shards into ``samples/`` (how many; 0 when unsharded).

    Merging again is harmless (deterministic), so a finishing run killed after it resumes the same way."""
    if not any(samples.glob("shard-*-of-*/shard.json")):
        return 0
    from mathforge.answer.config import GraderConfig
    from mathforge.merge import MergeConfig
    from mathforge.merge.runner import describe
    from mathforge.merge.runner import run as merge

    grading = {k: getattr(cfg, k) for k in GraderConfig.model_fields}
    result = merge(MergeConfig(out=str(samples), **grading))
    if not result["complete"]:
        raise DataError(f"the round's sampling shards are incomplete ({describe(result)}): run those shards "
                        "again (each resumes), then this command", samples)  # fmt: skip
    return result["shards"]


def round_todo(cfg: SelfTrainConfig, r: int, folder: Path, problems: list) -> tuple[list[SolutionRow], list]:
    """The paths known before round ``r`` (the data and earlier rounds' new paths) and the round's problems."""
    earlier = [Path(cfg.out) / f"round-{i}" / "new.jsonl" for i in range(1, r)]
    known = load_rows([*map(Path, cfg.data), *earlier])
    return known, todo_problems(folder / "todo.jsonl", problems, coverage(known), cfg.min_paths)


def one_round(cfg: SelfTrainConfig, r: int, folder: Path, problems: list, generator: str, before) -> dict:
    """Coverage -> the problems to sample -> samples -> new verified paths -> retrain -> evaluate."""
    earlier = [Path(cfg.out) / f"round-{i}" / "new.jsonl" for i in range(1, r)]
    known, todo = round_todo(cfg, r, folder, problems)
    samples = sample(cfg, generator, folder / "todo.jsonl", folder / "samples") if todo else []
    new, counts = verify(cfg, samples, {p.id: p for p in todo}, known, r)
    write_rows(folder / "new.jsonl", new)
    model = retrain(
        cfg, r, folder / "train", generator, [*map(Path, cfg.data), *earlier, folder / "new.jsonl"]
    )
    after = evaluate_model(cfg, model, folder / "eval")
    covered_before = coverage(known)
    covered_after = coverage(known + new)
    newly = sum(
        1 for p in problems if covered_before.get(_key(p), 0) < cfg.min_paths <= covered_after.get(_key(p), 0)
    )
    return {"round": r, "todo_problems": len(todo), "samples": len(samples), "paths_added": len(new),
            "problems_newly_covered": newly, **counts, "model": model,
            "accuracy_before": before, "accuracy_after": after}  # fmt: skip


def _key(item) -> str:
    """A problem's identity across files: its source id where the row has one, else its question."""
    source = getattr(item, "source_id", None) or getattr(item, "id", None)
    return str(source) if source else " ".join(str(item.question).split())


def load_rows(paths: list[Path]) -> list[SolutionRow]:
    return [row for p in paths if p.exists() for _, row in read_rows(p, SolutionRow)]


def coverage(rows: list[SolutionRow]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[_key(row)] += 1
    return counts


def todo_problems(path: Path, problems: list, covered: dict[str, int], min_paths: int) -> list:
    """The problems this round samples; written once, so a resumed round samples exactly the same ones."""
    from mathforge.data import Problem

    if path.exists():
        ids = {json.loads(x)["id"] for x in path.read_text().splitlines() if x.strip()}
        return [p for p in problems if p.id in ids]
    todo = [p for p in problems if covered.get(_key(p), 0) < min_paths]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(path, (Problem.to_dict(p) for p in todo))
    return todo


def sample(cfg: SelfTrainConfig, generator: str, problems_file: Path, out: Path) -> list[PredictionRow]:
    from mathforge.evaluate import EvaluateConfig
    from mathforge.evaluate import run as evaluate

    shared = {k: getattr(cfg, k) for k in EvaluateConfig.model_fields if k in SelfTrainConfig.model_fields}
    shared.update(
        model=generator, dataset=str(problems_file), split="train", limit=None, n=cfg.k, out=str(out)
    )
    evaluate(EvaluateConfig(**shared))  # with --shard I/N: into out/shard-I-of-N/
    return [row for _, row in read_rows(cfg.sharded_dir(out) / "predictions.jsonl", PredictionRow)]


def verify(cfg: SelfTrainConfig, samples: list[PredictionRow], todo: dict, known: list[SolutionRow], r: int):
    """The new paths: verified (gold, majority or value), new (not a duplicate of a kept path), clean."""
    from mathforge.synthesize.filters import majority, test_set_index

    seen = {(_key(row), _dedup_key(row.solution, row.mode == "code", cfg)) for row in known}
    index = test_set_index(cfg.data_dir, cfg.ngram)[0] if cfg.decontaminate else None
    by_problem: dict[str, list[PredictionRow]] = defaultdict(list)
    for s in samples:
        by_problem[s.id].append(s)
    kept: list[SolutionRow] = []
    counts = {"verified": 0, "duplicates": 0, "contaminated": 0}
    with cfg.make_grader() as grader:
        for pid, rows in sorted(by_problem.items()):
            problem = todo[pid]
            if index is not None and index.contaminated(problem.question):
                counts["contaminated"] += len(rows)
                continue
            for s in _verified(cfg, problem, sorted(rows, key=lambda x: x.sample), grader, majority):
                counts["verified"] += 1
                key = (_key(problem), _dedup_key(s.text, bool(s.executions), cfg))
                if key in seen:
                    counts["duplicates"] += 1
                    continue
                seen.add(key)
                kept.append(SolutionRow(id=f"{pid}/self-train-{r}/{s.sample}", question=problem.question,
                                        solution=s.text, gold=problem.gold or s.answer, source_id=pid,
                                        method=f"self_train_round_{r}", format=cfg.solution_format))  # fmt: skip
    return kept, counts


def _dedup_key(text: str, code: bool, cfg: SelfTrainConfig) -> str:
    from mathforge.synthesize.filters import code_key, cot_key

    return code_key(text, cfg.solution_format) if code else "\n".join(cot_key(text))


def _verified(
    cfg: SelfTrainConfig, problem, rows: list[PredictionRow], grader, majority
) -> list[PredictionRow]:
    if problem.gold:  # labelled: evaluate graded each sample against the gold
        return [s for s in rows if s.correct]
    answered = [s for s in rows if s.answer is not None]
    if cfg.unlabelled == "value":
        from mathforge.evaluate.rerank_run import score_run

        scores = score_run(Path(cfg.out), answered, cfg.value_model, cfg.solution_format, 8)
        return [s for s in answered if scores[(s.id, s.sample)] >= cfg.value_threshold]
    best, classes = majority([s.answer for s in answered], grader.equiv_many, cfg.min_agreement)
    return [s for s, c in zip(answered, classes, strict=True) if best is not None and c == best]


def retrain(cfg: SelfTrainConfig, r: int, out: Path, generator: str, data: list[Path]) -> str:
    """The next generator: the previous one fine-tuned on this round's paths (on all of them with
    ``replay``), or the base on all of them. ``data`` ends with this round's new paths."""
    from mathforge.train import train

    stage = {"name": "sft", "prompt_format": cfg.prompt_format, **cfg.train_stage}
    if cfg.retrain_from == "previous":
        start, files = generator, data if cfg.replay else [data[-1]]
    else:
        start, files = cfg.base_model or cfg.model, data
    files = [str(f) for f in files if f.exists() and f.stat().st_size > 0]
    if not files:
        return generator  # nothing verified this round: the generator stays as it was
    [folder] = train({"output_dir": str(out), "base_model": start, "stages": [{**stage, "data": files}]})
    return str(folder)


def evaluate_model(cfg: SelfTrainConfig, model: str, out: Path) -> float | None:
    """Greedy accuracy of ``model`` on eval_dataset (None when no eval dataset is set)."""
    if not cfg.eval_dataset:
        return None
    from mathforge.evaluate import EvaluateConfig
    from mathforge.evaluate import run as evaluate

    shared = {k: getattr(cfg, k) for k in EvaluateConfig.model_fields if k in SelfTrainConfig.model_fields}
    shared.update(model=model, dataset=cfg.eval_dataset, split=cfg.eval_split, limit=cfg.eval_limit, n=1,
                  temperature=0.0, shard=None, out=str(out))  # fmt: skip
    return evaluate(EvaluateConfig(**shared))["accuracy"]


def render(records: list[dict]) -> str:
    def pct(x):
        return "-" if x is None else f"{100 * x:.1f}"

    lines = ["# Self-training", "", "| round | problems sampled | samples | verified | duplicates | contaminated | "
             "paths added | newly covered | accuracy before (%) | accuracy after (%) |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for r in records:
        lines.append(f"| {r['round']} | {r['todo_problems']} | {r['samples']} | {r['verified']} | {r['duplicates']} | "
                     f"{r['contaminated']} | {r['paths_added']} | {r['problems_newly_covered']} | "
                     f"{pct(r['accuracy_before'])} | {pct(r['accuracy_after'])} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def report(cfg: SelfTrainConfig, records: list[dict]) -> int:
    if cfg.shard:
        return 0  # a sampling shard: sample_shard said what it did
    print(render(records))
    print(f"wrote {cfg.out}/rounds.jsonl and report.md")
    return 0
