"""The demo's report card: results.json, report.md, accuracy.png, scaling.png and a table on the console;
for several seeds, the aggregate (:func:`write_aggregate`).

What the report says first is the verdict: whether (c) beats (a) by the bar. Every accuracy carries its
Wilson 95% interval over the held-out problems, and the scaling curve of (c) its log-linear fit
(accuracy points per tenfold more code examples) with a bootstrap interval on the slope.
"""

from __future__ import annotations

import math
import os
import platform
import random
from pathlib import Path

from mathforge.evaluate.stats import wilson
from mathforge.io import write_json

SUBSETS = ("unseen range", "unseen template")
BAR = 30.0  # accuracy points (c) must beat (a) by


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _interval(m: dict) -> str:
    lo, hi = wilson(m["correct"], m["problems"])
    return f"{100 * m['accuracy']:.1f} [{100 * lo:.0f}, {100 * hi:.0f}]"


def verdict(gap: float, what: str = "") -> tuple[bool, str]:
    """The report's first line: whether the gap (c) - (a) meets the bar."""
    if gap >= BAR:
        return True, f"PASS: (c) beats (a) by {gap:+.1f} points{what} (bar: {BAR:.0f})."
    return False, f"MISSED THE BAR: (c) - (a) is {gap:+.1f} points{what}, below the {BAR:.0f}-point bar."


def slope_fit(per_seed: list[list[tuple[int, list[int]]]], iters: int = 2000, seed: int = 0) -> dict:
    """Least-squares slope of the seed-mean accuracy (points) against log10(code examples), with a 95%
    bootstrap interval that resamples seeds and, within each seed, the held-out problems (the same
    problems at every point of a seed: the points are paired).

    ``per_seed``: for each seed, its scaling points as (code examples, 0/1 per problem in a fixed order).
    """
    xs = [math.log10(n) for n, _ in per_seed[0]]

    def fit(accs: list[float]) -> tuple[float, float]:
        mx, my = sum(xs) / len(xs), sum(accs) / len(accs)
        sxx = sum((x - mx) ** 2 for x in xs)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, accs, strict=True)) / sxx if sxx else 0.0
        return slope, my - slope * mx

    def mean_curve(seeds: list[int], rows: list[list[int]] | None) -> list[float]:
        curve = []
        for j in range(len(xs)):
            total = 0.0
            for s, idx in zip(seeds, rows or [None] * len(seeds), strict=True):
                v = per_seed[s][j][1]
                total += (sum(v[i] for i in idx) / len(idx)) if idx else sum(v) / len(v)
            curve.append(100 * total / len(seeds))
        return curve

    everyone = list(range(len(per_seed)))
    curve = mean_curve(everyone, None)
    slope, intercept = fit(curve)
    rng, slopes = random.Random(seed), []
    for _ in range(iters):
        seeds = [rng.randrange(len(per_seed)) for _ in per_seed] if len(per_seed) > 1 else everyone
        rows = []
        for s in seeds:
            n = len(per_seed[s][0][1])
            rows.append([rng.randrange(n) for _ in range(n)])
        slopes.append(fit(mean_curve(seeds, rows))[0])
    slopes.sort()
    lo, hi = slopes[int(0.025 * iters)], slopes[min(iters - 1, int(0.975 * iters))]
    rising = all(b > a for a, b in zip(curve, curve[1:], strict=False))
    return {"x": [n for n, _ in per_seed[0]], "mean": curve, "slope": slope, "intercept": intercept,
            "slope_ci": [lo, hi], "rising": rising}  # fmt: skip


def _scaling_inputs(r: dict) -> list[tuple[int, list[int]]]:
    """One seed's scaling points as (code examples, 0/1 per held-out problem, in id order)."""
    pts = []
    for m in scaling_points(r):
        per = m.get("per_problem") or {}
        ids = sorted(per)
        pts.append(
            (
                m["code_examples"],
                [per[i] for i in ids] if ids else [1] * m["correct"] + [0] * (m["problems"] - m["correct"]),
            )
        )
    return pts


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


def scaling_fit(r: dict) -> dict:
    return slope_fit([_scaling_inputs(r)])


def _train_cell(m: dict) -> str:
    """Steps per stage, and whether the held-out check ended the last stage (else the step cap did)."""
    steps = " + ".join(map(str, m["train_steps"]))
    if m.get("check") is None:
        return steps
    return f"{steps} ({'check passed' if m.get('passed_check') else 'cap'}, {100 * m['check']:.0f}%)"


def render_markdown(r: dict) -> str:
    cfg = r["config"]
    ok, line = verdict(r["gap_points"], f" (seed {cfg['seed']})")
    fit = scaling_fit(r)
    lines = [
        f"**{line}**",
        "",
        "# mathforge demo: tools beat token-by-token arithmetic",
        "",
        f"Held-out set: {r['models'][0]['problems']} problems, half with training templates but numbers from "
        "an unseen range, half with unseen templates (clause orders) and unseen numbers. Accuracies in %, "
        "with their Wilson 95% interval over the held-out problems in brackets.",
        "",
        "| model | eval mode | accuracy [95% CI] | unseen range | unseen template | train steps (ended by) | "
        "train s | eval s |",
        "| --- | --- | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for m in main_models(r):
        sub = m["by_subject"]
        lines.append(
            f"| {m['label']} | {m['mode']} | {_interval(m)} | {_pct(sub.get(SUBSETS[0]))} | "
            f"{_pct(sub.get(SUBSETS[1]))} | {_train_cell(m)} | {m['train_seconds']} | {m['eval_seconds']:.1f} |"
        )
    lines += _mario_section(r)
    lines += [
        "",
        f"**Gap (c) - (a): {r['gap_points']:+.1f} accuracy points** ({'meets' if ok else 'MISSES'} the "
        f">= {BAR:.0f}-point bar).",
        "",
        "## Scaling: accuracy of (c) vs the amount of augmented code-nested data",
        "",
        "| code-nested examples | re-draws per problem | accuracy [95% CI] | stage-2 steps (ended by) |",
        "| ---: | ---: | ---: | --- |",
    ]
    for m in scaling_points(r):
        k = m["code_examples"] // cfg["n_base"] - 1
        lines.append(f"| {m['code_examples']} | {k} | {_interval(m)} | {_train_cell(m)} |")
    lo, hi = fit["slope_ci"]
    lines += [
        "",
        f"Log-linear fit: {fit['slope']:+.1f} accuracy points per tenfold more code examples (bootstrap 95% "
        f"interval over problems [{lo:+.1f}, {hi:+.1f}]); the curve {'rises' if fit['rising'] else 'does NOT rise'} "
        "at every step.",
        "",
        "Augmentation is LLM-free: each re-draw keeps a training problem's template and draws new numbers "
        "from the training range (answers recomputed exactly). " + _training_sentence(cfg),
        "",
        "![accuracy per model](accuracy.png)",
        "![scaling curve](scaling.png)",
        "",
    ]
    lines += _timings_section(r)
    lines += [
        "## Settings",
        "",
        f"seed {cfg['seed']}; {cfg['n_base']} base training problems; re-draws {list(cfg['aug_copies'])}; "
        f"model {cfg['model']} with a {cfg['vocab_size']}-token BPE vocabulary; copy pre-training "
        f"cap {cfg['steps_copy']} steps of batch {cfg['copy_batch']}; batch {cfg['batch_size']}, lr {cfg['lr']}; "
        f"step caps: CoT {cfg['steps_cot']}, code from scratch {cfg['steps_code']}, stage 2 "
        f"{cfg['steps_stage2']}; check every {cfg['check_every']} steps; evaluation greedy, at most "
        f"{cfg['max_rounds']} executions.",
        f"Same seed and thread count, same numbers: each worker runs torch on {cfg['threads']} thread(s), so "
        "every reduction has a fixed order and what runs beside a model does not change it. Another thread "
        "count or CPU changes the floating-point reductions, hence the exact numbers (not the verdict, "
        "measured over seeds in docs/DEMO.md).",
        "",
    ]
    return "\n".join(lines)


def _training_sentence(cfg: dict) -> str:
    """How the base and the models were trained, as the settings say (checks that stop, or only record)."""
    if cfg.get("steps_copy", 0) > 0:
        base = (f"Every model starts from the same base, a random Llama after copy pre-training (copy a line "
                f"verbatim) until {100 * cfg.get('copy_check_target', 1):.0f}% of its check copies are exact "
                f"or {cfg['steps_copy']} steps.")  # fmt: skip
    else:
        base = "Every model starts from the same random initialisation (copy pre-training off)."
    if cfg["check_target"] > 1:
        train = (f" Each model trains for its step budget; a held-out check of {cfg['n_check']} "
                 f"training-distribution problems every {cfg['check_every']} steps is recorded, not used to stop.")  # fmt: skip
    else:
        train = (f" Each model trains until a held-out check of {cfg['n_check']} training-distribution problems "
                 f"is {100 * cfg['check_target']:.0f}% solved, or its step cap.")  # fmt: skip
    return base + train


def _timings_section(r: dict) -> list[str]:
    cfg = r["config"]
    lines = [
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
    total = sum(t["seconds"] or 0 for t in r["timings"].values())
    cpu = sum(t.get("cpu_seconds") or 0 for t in r["timings"].values())
    lines += [
        f"| **sum of stages** | {total:.1f} | {cpu:.1f} |",
        "",
        f"Wall time of this invocation: {r['wall_seconds_this_run']} s (stages already done were skipped). "
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, load average at the end "
        f"{_load()}, {cfg['parallel']} worker processes x {cfg['threads']} torch thread(s), Python "
        f"{platform.python_version()}.",
        "",
    ]
    return lines


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

    ok, line = verdict(r["gap_points"], f" (seed {r['config']['seed']})")
    console.print(f"[bold {'green' if ok else 'red'}]{line}")
    t = Table(title="mathforge demo: held-out accuracy (%) [Wilson 95% CI]")
    for col in ("model", "mode", "accuracy", SUBSETS[0], SUBSETS[1], "train steps"):
        t.add_column(col, justify="left" if col in ("model", "mode") else "right")
    for m in main_models(r):
        sub = m["by_subject"]
        t.add_row(m["label"], m["mode"], _interval(m), _pct(sub.get(SUBSETS[0])), _pct(sub.get(SUBSETS[1])),
                  _train_cell(m))  # fmt: skip
    console.print(t)
    fit = scaling_fit(r)
    console.print(
        f"gap (c) - (a): [bold]{r['gap_points']:+.1f}[/bold] points; scaling of (c): "
        + ", ".join(f"{m['code_examples']} ex -> {_pct(m['accuracy'])}" for m in scaling_points(r))
        + f"; slope {fit['slope']:+.1f} points per tenfold data"
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


def plot_scaling(path: Path, runs: dict | list[dict]) -> None:
    """Accuracy of (c) vs code examples: each seed's points, their mean and the mean's log-linear fit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator

    runs = [runs] if isinstance(runs, dict) else runs
    fit = slope_fit([_scaling_inputs(r) for r in runs])
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for i, r in enumerate(runs):
        pts = scaling_points(r)
        jitter = 1 + 0.03 * (i - (len(runs) - 1) / 2)  # side by side, so equal accuracies stay visible
        ax.scatter([m["code_examples"] * jitter for m in pts], [100 * m["accuracy"] for m in pts], s=18,
                   alpha=0.6, label="each seed" if i == 0 else None, color="tab:gray")  # fmt: skip
    ax.plot(fit["x"], fit["mean"], marker="o", color="tab:blue", label=f"mean of {len(runs)} seed(s)")
    xs = [min(fit["x"]) * 0.9, max(fit["x"]) * 1.1]
    ax.plot(xs, [fit["intercept"] + fit["slope"] * math.log10(x) for x in xs], "--", color="tab:orange",
            label=f"fit: {fit['slope']:+.1f} pts per 10x data")  # fmt: skip
    ax.set_xscale("log")
    # ticks at the measured sizes only, written in full: log-axis minor labels (3x10^3, 4x10^3) overlap
    ax.xaxis.set_major_locator(FixedLocator(fit["x"]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{n:,}" for n in fit["x"]])
    ax.set_xlabel("code-nested training examples (base + re-draws)")
    ax.set_ylabel("held-out accuracy of (c) (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Accuracy vs augmented data")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- several seeds
def aggregate(by_seed: dict[int, dict]) -> dict:
    """Mean, spread and per-seed gaps over seeds; whether every seed meets the bar; the pooled fit."""
    seeds = sorted(by_seed)
    keys = [m["key"] for m in by_seed[seeds[0]]["models"]]
    models = {}
    for key in keys:
        accs = [100 * next(m for m in by_seed[s]["models"] if m["key"] == key)["accuracy"] for s in seeds]
        models[key] = {"mean": sum(accs) / len(accs), "min": min(accs), "max": max(accs),
                       "sd": _sd(accs), "per_seed": accs}  # fmt: skip
    gaps = [by_seed[s]["gap_points"] for s in seeds]
    fit = slope_fit([_scaling_inputs(by_seed[s]) for s in seeds])
    return {
        "seeds": seeds,
        "models": models,
        "gaps": gaps,
        "gap_mean": sum(gaps) / len(gaps),
        "gap_min": min(gaps),
        "every_seed_passes": all(g >= BAR for g in gaps),
        "scaling": fit,
        "wall_seconds": [by_seed[s]["wall_seconds_this_run"] for s in seeds],
        "cpu_seconds": [
            sum(t.get("cpu_seconds") or 0 for t in by_seed[s]["timings"].values()) for s in seeds
        ],
        "threads": by_seed[seeds[0]]["config"]["threads"],
    }


def _sd(xs: list[float]) -> float:
    if len(xs) < 2:
        return 0.0
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def write_aggregate(out: Path, by_seed: dict[int, dict], console=None) -> dict:
    agg = aggregate(by_seed)
    write_json(out / "aggregate.json", agg)
    plot_scaling(out / "scaling.png", [by_seed[s] for s in agg["seeds"]])
    (out / "report.md").write_text(render_aggregate(agg, by_seed), encoding="utf-8")
    if console is not None:
        ok, line = _aggregate_verdict(agg)
        console.print(f"[bold {'green' if ok else 'red'}]{line}")
        for s in agg["seeds"]:
            r = by_seed[s]
            console.print(f"seed {s}: " + ", ".join(f"{m['key']} {_pct(m['accuracy'])}" for m in r["models"])
                          + f"; gap {r['gap_points']:+.1f}")  # fmt: skip
    return agg


def _aggregate_verdict(agg: dict) -> tuple[bool, str]:
    seeds = ",".join(map(str, agg["seeds"]))
    fit, rising = agg["scaling"], agg["scaling"]["rising"]
    curve = "rises" if rising else "does NOT rise"
    if agg["every_seed_passes"]:
        return rising, (f"{'PASS' if rising else 'MISSED THE BAR (scaling)'}: (c) beats (a) by >= {BAR:.0f} "
                        f"points on every seed ({seeds}; smallest gap {agg['gap_min']:+.1f}); the mean scaling "
                        f"curve {curve} ({fit['slope']:+.1f} points per tenfold data).")  # fmt: skip
    failed = [str(s) for s, g in zip(agg["seeds"], agg["gaps"], strict=True) if g < BAR]
    return False, (f"MISSED THE BAR: the gap (c) - (a) is below {BAR:.0f} points on seed(s) {', '.join(failed)} "
                   f"of {seeds} (smallest {agg['gap_min']:+.1f}); the mean scaling curve {curve}.")  # fmt: skip


def render_aggregate(agg: dict, by_seed: dict[int, dict]) -> str:
    _, line = _aggregate_verdict(agg)
    seeds = agg["seeds"]
    first = by_seed[seeds[0]]
    labels = {m["key"]: m["label"] for m in first["models"]}
    lines = [
        f"**{line}**",
        "",
        f"# mathforge demo over {len(seeds)} seeds ({agg['threads']} torch thread(s) per worker)",
        "",
        "Accuracy (%) of each model on each seed's held-out set (Wilson 95% interval in brackets), and the "
        "gap (c) - (a) in points. Each seed's own report is in seed-K/report.md.",
        "",
        "| seed | " + " | ".join(labels[k] for k in labels) + " | gap (c) - (a) |",
        "| ---: | " + " | ".join("---:" for _ in labels) + " | ---: |",
    ]
    for s in seeds:
        by_key = {m["key"]: m for m in by_seed[s]["models"]}
        lines.append(f"| {s} | " + " | ".join(_interval(by_key[k]) for k in labels)
                     + f" | {by_seed[s]['gap_points']:+.1f} |")  # fmt: skip
    mean_row = " | ".join(f"{agg['models'][k]['mean']:.1f}" for k in labels)
    spread = " | ".join(f"{agg['models'][k]['min']:.0f}-{agg['models'][k]['max']:.0f} (sd "
                        f"{agg['models'][k]['sd']:.1f})" for k in labels)  # fmt: skip
    lines += [
        f"| **mean** | {mean_row} | {agg['gap_mean']:+.1f} |",
        f"| **range (sd)** | {spread} | {min(agg['gaps']):+.1f} to {max(agg['gaps']):+.1f} |",
        "",
        "## Scaling of (c), mean over seeds",
        "",
        "| code-nested examples | mean accuracy | per seed |",
        "| ---: | ---: | --- |",
    ]
    fit = agg["scaling"]
    for j, n in enumerate(fit["x"]):
        per = [100 * scaling_points(by_seed[s])[j]["accuracy"] for s in seeds]
        lines.append(f"| {n} | {fit['mean'][j]:.1f} | {' / '.join(f'{p:.0f}' for p in per)} |")
    lo, hi = fit["slope_ci"]
    lines += [
        "",
        f"Log-linear fit of the mean: {fit['slope']:+.1f} accuracy points per tenfold more code examples "
        f"(bootstrap 95% interval over seeds and problems [{lo:+.1f}, {hi:+.1f}]).",
        "",
        "![scaling curve](scaling.png)",
        "",
        "## Time per seed",
        "",
        "| seed | wall s | CPU s (all stages) |",
        "| ---: | ---: | ---: |",
    ]
    for s, w, c in zip(seeds, agg["wall_seconds"], agg["cpu_seconds"], strict=True):
        lines.append(f"| {s} | {w} | {c:.0f} |")
    lines += ["", f"Load average at the end: {_load()} on {os.cpu_count()} CPUs.", ""]
    return "\n".join(lines)
