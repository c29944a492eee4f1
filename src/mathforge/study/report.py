"""Results of a scaling study: per-run accuracies with intervals, fits per axis and test set, the transfer
matrix (training distribution x test set), the per-type comparison; as JSON, markdown and plots."""

from __future__ import annotations

from pathlib import Path

from mathforge.study.fits import bootstrap_slope, fit_loglinear, fit_two_segment


def summarise(cfg, plan: list, tests: list[str], leaks: int) -> dict:
    runs = [_run_record(item, tests) for item in plan]
    fits = {axis: {t: _fits(cfg, [i for i in plan if i.axis == axis], t) for t in tests}
            for axis in cfg.axes}  # fmt: skip
    return {"config": cfg.model_dump(mode="json"), "tests": tests, "in_domain": tests[0], "leaks_dropped": leaks,
            "runs": runs, "fits": fits, "transfer": _transfer(runs, tests)}  # fmt: skip


def _run_record(item, tests: list[str]) -> dict:
    from mathforge.evaluate.stats import wilson

    acc = {}
    for t in tests:
        verdicts = list(item.scores[t].values())
        lo, hi = wilson(sum(verdicts), len(verdicts))
        acc[t] = {
            "accuracy": sum(verdicts) / max(1, len(verdicts)),
            "ci95": [lo, hi],
            "problems": len(verdicts),
        }
    types: dict[str, int] = {}
    for t in item.rows:
        types[t.aug_type] = types.get(t.aug_type, 0) + 1
    return {"key": item.key, "axis": item.axis, "examples": item.examples, "queries": item.n_queries,
            "responses": item.responses, "aug_type": item.aug_type, "types": types, "accuracy": acc}  # fmt: skip


def _fits(cfg, items: list, test: str) -> dict | None:
    """Log-linear fit (with a bootstrap interval over the test problems) and, from four sizes, the two-segment
    fit; None with fewer than two distinct sizes."""
    items = [i for i in items if i.examples > 0]
    if len({i.examples for i in items}) < 2:
        return None
    ids = sorted(set.intersection(*(set(i.scores[test]) for i in items)))
    ns = [i.examples for i in items]
    correct = [[float(i.scores[test][pid]) for pid in ids] for i in items]
    accs = [sum(row) / len(row) for row in correct]
    line = fit_loglinear(ns, accs)
    lo, hi = bootstrap_slope(ns, correct, cfg.bootstrap, cfg.subset_seed)
    out = {"sizes": ns, "accuracy": accs, "slope": line.slope, "intercept": line.intercept, "r2": line.r2,
           "slope_ci95": [lo, hi]}  # fmt: skip
    if len(set(ns)) >= 4:
        seg = fit_two_segment(ns, accs)
        out["segmented"] = {"breakpoint": seg.breakpoint, "slope_before": seg.slope_before,
                            "slope_after": seg.slope_after, "intercept": seg.intercept, "sse": seg.sse}  # fmt: skip
    return out


def _transfer(runs: list[dict], tests: list[str]) -> dict:
    """Training distribution -> test set -> accuracy: the per-type runs, the original rows alone, and the
    largest grid point (all types together)."""
    grid = [r for r in runs if r["axis"] in ("queries", "responses")]
    rows = {r["aug_type"]: r for r in runs if r["axis"] == "type"}
    for r in runs:
        if r["axis"] == "original":
            rows["original only"] = r
    if grid:
        rows["all types"] = max(grid, key=lambda r: r["examples"])
    return {name: {"examples": r["examples"], **{t: r["accuracy"][t]["accuracy"] for t in tests}}
            for name, r in rows.items()}  # fmt: skip


def render(results: dict) -> str:
    tests = results["tests"]
    lines = ["# Scaling study", "",
             f"In-domain test set: {results['in_domain']}; {results['leaks_dropped']} training rows dropped because "
             "their seed problem is a test problem.", "",
             "| run | axis | augmented examples | " + " | ".join(f"{t} (%)" for t in tests) + " |",
             "| --- | --- | ---: | " + " | ".join("---:" for _ in tests) + " |"]  # fmt: skip
    for r in results["runs"]:
        cells = [_pct(r["accuracy"][t]) for t in tests]
        lines.append(f"| {r['key']} | {r['axis']} | {r['examples']} | " + " | ".join(cells) + " |")
    lines += ["", "## Fits: accuracy = a + b log10(N)", "",
              "| axis | test set | slope b (points per 10x) | 95% interval | R² | breakpoint N | slope before / after |",
              "| --- | --- | ---: | --- | ---: | ---: | --- |"]  # fmt: skip
    for axis, per_test in results["fits"].items():
        for t, f in per_test.items():
            if f is None:
                lines.append(f"| {axis} | {t} | - | fewer than two sizes | - | - | - |")
                continue
            seg = f.get("segmented")
            brk = f"{seg['breakpoint']:.0f}" if seg else "-"
            before = f"{100 * seg['slope_before']:+.1f} / {100 * seg['slope_after']:+.1f}" if seg else "-"
            lo, hi = f["slope_ci95"]
            lines.append(f"| {axis} | {t} | {100 * f['slope']:+.1f} | [{100 * lo:+.1f}, {100 * hi:+.1f}] | "
                         f"{f['r2']:.2f} | {brk} | {before} |")  # fmt: skip
    if results["transfer"]:
        lines += ["", "## Transfer: training distribution x test set (accuracy, %)", "",
                  "| trained on | examples | " + " | ".join(tests) + " |",
                  "| --- | ---: | " + " | ".join("---:" for _ in tests) + " |"]  # fmt: skip
        for name, row in results["transfer"].items():
            lines.append(
                f"| {name} | {row['examples']} | " + " | ".join(f"{100 * row[t]:.1f}" for t in tests) + " |"
            )
    return "\n".join(lines) + "\n"


def _pct(acc: dict) -> str:
    lo, hi = acc["ci95"]
    return f"{100 * acc['accuracy']:.1f} [{100 * lo:.0f}, {100 * hi:.0f}]"


def write_report(out: Path, results: dict) -> None:
    (out / "report.md").write_text(render(results), encoding="utf-8")
    from mathforge.study.plots import plot_scaling, plot_transfer, plot_types

    plot_scaling(out / "scaling.png", results)
    plot_transfer(out / "transfer.png", results)
    plot_types(out / "types.png", results)
