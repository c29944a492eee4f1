"""Score a sampled run with a value model and report every reranking rule (``ovm rerank``, or evaluate with
``--value-model``).

Outputs next to the run's predictions: ``scores.jsonl`` (one value per sample: a re-run reuses it),
``rerank.json`` (accuracy per rule and k, AUROC, calibration bins), ``rerank.md`` (the tables) and two
plots, ``rerank_k.png`` (accuracy against k for each rule) and ``calibration.png`` (reliability diagram).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from mathforge.answer.classes import answer_classes
from mathforge.config import Config, setting
from mathforge.evaluate.rerank import Scored, auroc, calibration, rerank_table
from mathforge.io import DataError, JsonlAppender, write_json
from mathforge.rows import PredictionRow, read_rows


class RerankConfig(Config):
    """Rerank the samples of an evaluate run (n > 1) with a value model."""

    run: str = setting(help="an evaluate output folder whose predictions have several samples per problem",
                       io="in", kind="dir", positional=True)  # fmt: skip
    value_model: str = setting(help="a value model folder (a train stage of type ovm)", io="in", kind="model")
    greedy_run: str | None = setting(None, "an evaluate folder of the same problems decoded greedily, shown beside",
                                     io="in", kind="dir")  # fmt: skip
    thresholds: list[float] = setting([0.2, 0.4], "outlier-free rule: drop answer classes below these shares")
    score_batch_size: int = setting(8, "solutions per forward pass of the value model", ge=1)


def run(cfg: RerankConfig) -> dict:
    rows = [r for _, r in read_rows(Path(cfg.run) / "predictions.jsonl", PredictionRow)]
    fmt = json.loads((Path(cfg.run) / "config.json").read_text()).get("solution_format", "tora")
    greedy = _greedy(cfg.greedy_run)
    from mathforge.answer.config import GraderConfig

    with GraderConfig().make_grader() as grader:
        return rerank(Path(cfg.run), rows, cfg.value_model, grader.equiv_many, cfg.thresholds, fmt,
                      cfg.score_batch_size, greedy)  # fmt: skip


def rerank(out: Path, rows: list[PredictionRow], value_model: str, equiv_many, thresholds, fmt: str = "tora",
           batch_size: int = 8, greedy: float | None = None) -> dict:  # fmt: skip
    """Score (or reuse the scores of) every sample, compute the rules, write the report; returns rerank.json."""
    scores = score_run(out, rows, value_model, fmt, batch_size)
    by_problem: dict[str, list[PredictionRow]] = defaultdict(list)
    for r in rows:
        by_problem[r.id].append(r)
    problems = []
    for samples in by_problem.values():
        samples.sort(key=lambda r: r.sample)
        classes = answer_classes([r.answer for r in samples], equiv_many)
        problems.append(
            [Scored(c, r.correct, scores[(r.id, r.sample)]) for c, r in zip(classes, samples, strict=True)]
        )
    if min(len(p) for p in problems) < 2:
        raise DataError("reranking needs several samples per problem (evaluate with --n K)", out)
    table = rerank_table(problems, thresholds=thresholds)
    flat = [s for p in problems for s in p]
    result = {
        "problems": len(problems),
        "samples_per_problem": min(len(p) for p in problems),
        "unit": "fraction",
        "greedy": greedy,
        "rules": {name: {str(k): v for k, v in by_k.items()} for name, by_k in table.items()},
        "auroc": auroc([s.value for s in flat], [s.correct for s in flat]),
        "calibration": calibration([s.value for s in flat], [s.correct for s in flat]),
        "value_model": str(value_model),
    }
    write_json(out / "rerank.json", result)
    (out / "rerank.md").write_text(render(result), encoding="utf-8")
    plot_rules(out / "rerank_k.png", result)
    plot_calibration(out / "calibration.png", result)
    return result


def score_run(out: Path, rows: list[PredictionRow], value_model: str, fmt: str, batch_size: int) -> dict:
    """(id, sample) -> value score, from ``scores.jsonl`` where present, scored with the model otherwise."""
    with JsonlAppender(out / "scores.jsonl", key=lambda r: (r["id"], r["sample"])) as log:
        done = {
            (r["id"], r["sample"]): r["score"] for r in log.rows if r.get("value_model") == str(value_model)
        }
        todo = [r for r in rows if (r.id, r.sample) not in done]
        if todo:
            from mathforge.train.value import ValueModel, score_solutions

            model, tokenizer = ValueModel.load(value_model)
            items = [(_prompt_text(r.prompt, tokenizer), r.text, fmt) for r in todo]
            for r, s in zip(todo, score_solutions(model, tokenizer, items, batch_size), strict=True):
                log.write(
                    {"id": r.id, "sample": r.sample, "score": s["score"], "value_model": str(value_model)}
                )
                done[(r.id, r.sample)] = s["score"]
    return done


def _prompt_text(prompt: str, tokenizer) -> str:
    """The text a sample continued: as stored, or a chat API's message list rendered with the template."""
    if prompt.startswith("[{"):
        try:
            messages = json.loads(prompt)
        except ValueError:
            return prompt
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return prompt


def _greedy(run: str | None) -> float | None:
    if not run:
        return None
    return json.loads((Path(run) / "metrics.json").read_text())["accuracy"]


def render(result: dict) -> str:
    rules = result["rules"]
    ks = sorted({int(k) for by_k in rules.values() for k in by_k})
    lines = [
        f"## Reranking with a value model ({result['problems']} problems, {result['samples_per_problem']} "
        "samples each; accuracy in %)",
        "",  # fmt: skip
        "| rule | " + " | ".join(f"k={k}" for k in ks) + " |",
        "| --- | " + " | ".join("---:" for _ in ks) + " |",
    ]
    if result.get("greedy") is not None:
        lines.append("| greedy | " + " | ".join(f"{100 * result['greedy']:.1f}" for _ in ks) + " |")
    for name, by_k in rules.items():
        lines.append(
            f"| {name} | "
            + " | ".join(f"{100 * by_k[str(k)]:.1f}" if str(k) in by_k else "-" for k in ks)
            + " |"
        )
    au = result.get("auroc")
    lines += ["", f"AUROC of the value against correctness: {'-' if au is None else f'{au:.3f}'}.", "",
              "| score bin | samples | mean score | correct (%) |", "| --- | ---: | ---: | ---: |"]  # fmt: skip
    lines += [f"| {b['low']:.1f}-{b['high']:.1f} | {b['count']} | {b['mean_score']:.3f} | {100 * b['accuracy']:.1f} |"
              for b in result["calibration"]]  # fmt: skip
    return "\n".join(lines) + "\n"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_rules(path: Path, result: dict) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, by_k in result["rules"].items():
        ks = sorted(int(k) for k in by_k)
        ax.plot(
            ks,
            [100 * by_k[str(k)] for k in ks],
            marker="o",
            label=name,
            linestyle="--" if name == "pass" else "-",
        )
    if result.get("greedy") is not None:
        ax.axhline(100 * result["greedy"], color="gray", linestyle=":", label="greedy")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("k (samples per problem)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Accuracy against k for each rule")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_calibration(path: Path, result: dict) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.5, 4))
    bins = result["calibration"]
    ax.plot([0, 1], [0, 1], color="gray", linestyle=":", label="perfect calibration")
    ax.plot([b["mean_score"] for b in bins], [b["accuracy"] for b in bins], marker="o", label="value model")
    for b in bins:
        ax.annotate(
            str(b["count"]),
            (b["mean_score"], b["accuracy"]),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    au = result.get("auroc")
    ax.set_title(f"Value calibration (AUROC {'-' if au is None else f'{au:.2f}'})")
    ax.set_xlabel("mean value score in bin")
    ax.set_ylabel("share of correct samples")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
