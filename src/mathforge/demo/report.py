"""The demo's report card: results.json, report.md, accuracy.png, scaling.png and a table on the console."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from mathforge.io import write_json

SUBSETS = ("unseen range", "unseen template")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def write_report(out: Path, results: dict, console=None) -> Path:
    write_json(out / "results.json", results)
    plot_accuracy(out / "accuracy.png", results)
    plot_scaling(out / "scaling.png", results)
    path = out / "report.md"
    path.write_text(render_markdown(results), encoding="utf-8")
    from mathforge.view import write_beside

    write_beside(out, [out / "eval", out / "train"], title="mathforge demo: every model compared")
    if console is not None:
        print_table(console, results)
    return path


def _load() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def main_models(results: dict) -> list[dict]:
    return sorted((m for m in results["models"] if m["key"] in ("a", "b", "c")), key=lambda m: m["key"])


def scaling_points(results: dict) -> list[dict]:
    pts = [m for m in results["models"] if m["key"].startswith("c")]
    return sorted(pts, key=lambda m: m["code_examples"])


def render_markdown(r: dict) -> str:
    cfg = r["config"]
    lines = [
        "# mathforge demo: tools beat token-by-token arithmetic",
        "",
        f"Held-out set: {r['models'][0]['problems']} problems, half with training templates but numbers from "
        "an unseen range, half with unseen templates (clause orders) and unseen numbers.",
        "",
        "| model | eval mode | accuracy | unseen range | unseen template | train steps | train s | eval s |",
        "| --- | --- | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for m in main_models(r):
        sub = m["by_subject"]
        lines.append(
            f"| {m['label']} | {m['mode']} | {_pct(m['accuracy'])} | {_pct(sub.get(SUBSETS[0]))} | "
            f"{_pct(sub.get(SUBSETS[1]))} | {' + '.join(map(str, m['train_steps']))} | "
            f"{m['train_seconds']} | {m['eval_seconds']:.1f} |"
        )
    lines += _mario_section(r)
    verdict = "meets" if r["gap_points"] >= 30 else "MISSES"
    lines += [
        "",
        f"**Gap (c) - (a): {r['gap_points']:+.1f} accuracy points** ({verdict} the >= 30-point bar).",
        "",
        "## Scaling: accuracy of (c) vs the amount of augmented code-nested data",
        "",
        "| code-nested examples | re-draws per problem | accuracy |",
        "| ---: | ---: | ---: |",
    ]
    for m in scaling_points(r):
        k = m["code_examples"] // cfg["n_base"] - 1
        lines.append(f"| {m['code_examples']} | {k} | {_pct(m['accuracy'])} |")
    total = sum(t["seconds"] or 0 for t in r["timings"].values())
    lines += [
        "",
        "Augmentation is LLM-free: each re-draw keeps a training problem's template and draws new numbers "
        "from the training range (answers recomputed exactly).",
        "",
        "![accuracy per model](accuracy.png)",
        "![scaling curve](scaling.png)",
        "",
        "## Timings",
        "",
        f"Models train and are evaluated in {cfg['parallel']} worker processes at once, so the stages' wall "
        "seconds overlap and add up to more than the wall time. CPU seconds (of the process doing the stage) "
        "depend much less than wall seconds on other jobs sharing the machine.",
        "",
        "| stage | wall s | CPU s |",
        "| --- | ---: | ---: |",
    ]
    for name, t in r["timings"].items():
        wall = "-" if t.get("seconds") is None else t["seconds"]
        note = " (earlier run; skipped now)" if t.get("skipped") else ""
        lines.append(f"| {name}{note} | {wall} | {t.get('cpu_seconds', '-')} |")
    cpu = sum(t.get("cpu_seconds") or 0 for t in r["timings"].values())
    lines += [
        f"| **sum of stages** | {total:.1f} | {cpu:.1f} |",
        "",
        f"Wall time of this invocation: {r['wall_seconds_this_run']} s (stages already done were skipped). "
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, load average at the end "
        f"{_load()}, {cfg['parallel']} worker processes x {cfg['threads']} torch thread(s), Python {platform.python_version()}.",
        "",
        "## Settings",
        "",
        f"seed {cfg['seed']}; {cfg['n_base']} base training problems; re-draws {list(cfg['aug_copies'])}; "
        f"model {cfg['model']} with a {cfg['vocab_size']}-token BPE vocabulary; batch {cfg['batch_size']}, "
        f"lr {cfg['lr']}; steps: CoT {cfg['steps_cot']}, code from scratch {cfg['steps_code']}, stage 2 "
        f"{cfg['steps_stage2']}; evaluation greedy, at most {cfg['max_rounds']} executions.",
        "Same seed, same numbers: each worker runs torch on one thread, so every reduction has a fixed "
        "order and what runs beside a model does not change it.",
        "",
    ]
    return "\n".join(lines)


def _mario_section(r: dict) -> list[str]:
    """MARIO's two additions to model (c), scored on the same held-out set."""
    rows = r.get("mario") or []
    if not rows:
        return []
    from mathforge.evaluate.stats import wilson

    c = next(m for m in r["models"] if m["key"] == "c")
    out = ["", "MARIO's additions to model (c), on the same held-out problems:", "",
           "| model | accuracy (95% interval) | compared with | cost (wall s) |", "| --- | ---: | --- | ---: |"]  # fmt: skip
    for m in rows:
        lo, hi = wilson(round(m["accuracy"] * m["problems"]), m["problems"])
        if m["key"] == "ovm":
            k = r["config"]["k_samples"]
            versus = f"maj@{k} {_pct(m['maj'])}, pass@{k} {_pct(m['pass'])}"
            if m["auroc"] is not None:  # None when every sample was right (or every one wrong)
                versus += f"; value AUROC {m['auroc']:.2f}"
        else:
            versus = (f"(c) greedy {_pct(m['accuracy_before'])}; {m['paths_added']} verified paths added "
                      f"({m['problems_newly_covered']} new problems)")  # fmt: skip
        out.append(
            f"| {m['label']} | {_pct(m['accuracy'])} [{_pct(lo)}, {_pct(hi)}] | {versus} | {m['seconds']} |"
        )
    out.append(f"\n(c) greedy: {_pct(c['accuracy'])}.")
    return out


def print_table(console, r: dict) -> None:
    from rich.table import Table

    t = Table(title="mathforge demo: held-out accuracy (%)")
    for col in ("model", "mode", "accuracy", SUBSETS[0], SUBSETS[1], "train s"):
        t.add_column(col, justify="left" if col in ("model", "mode") else "right")
    for m in main_models(r):
        sub = m["by_subject"]
        t.add_row(
            m["label"],
            m["mode"],
            _pct(m["accuracy"]),
            _pct(sub.get(SUBSETS[0])),
            _pct(sub.get(SUBSETS[1])),
            f"{m['train_seconds']}",
        )
    console.print(t)
    console.print(
        f"gap (c) - (a): [bold]{r['gap_points']:+.1f}[/bold] points; scaling of (c): "
        + ", ".join(f"{m['code_examples']} ex -> {_pct(m['accuracy'])}" for m in scaling_points(r))
    )


def plot_accuracy(path: Path, r: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = main_models(r)
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.27
    for j, (name, get) in enumerate(
        [
            ("all", lambda m: m["accuracy"]),
            (SUBSETS[0], lambda m: m["by_subject"].get(SUBSETS[0], 0)),
            (SUBSETS[1], lambda m: m["by_subject"].get(SUBSETS[1], 0)),
        ]
    ):
        xs = [i + (j - 1) * width for i in range(len(models))]
        ax.bar(xs, [100 * get(m) for m in models], width, label=name)
    ax.set_xticks(range(len(models)), [m["label"] for m in models], fontsize=8)
    ax.set_ylabel("held-out accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"Held-out accuracy per model (gap (c)-(a) = {r['gap_points']:+.1f} points)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_scaling(path: Path, r: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = scaling_points(r)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([m["code_examples"] for m in pts], [100 * m["accuracy"] for m in pts], marker="o")
    ax.set_xscale("log")
    ax.set_xlabel("code-nested training examples (base + re-draws)")
    ax.set_ylabel("held-out accuracy of (c) (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Accuracy vs augmented data")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
