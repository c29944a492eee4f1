"""``mathforge compare RUN_A RUN_B [...]``: is a difference between runs of the same problems significant?

Problems are paired by id (only those in every run count). For each run after the first, against the first:
the flips (fixed: A wrong -> B right; broken: A right -> B wrong; both right; both wrong, by each problem's
first sample), McNemar's exact test on the flips, the paired bootstrap interval of the accuracy difference
(per-problem mean correctness, so several samples count), and the accuracy per subject of both.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from mathforge.config import Config, setting
from mathforge.evaluate.stats import mcnemar_exact, paired_bootstrap
from mathforge.io import DataError, write_json
from mathforge.rows import PredictionRow, read_rows


class CompareConfig(Config):
    """Compare evaluate runs of the same problems."""

    runs: list[str] = setting(help="two or more evaluate output folders (the first is the baseline)",
                              io="in", kind="dir", positional=True)  # fmt: skip
    out: str | None = setting(None, "write compare.json and compare.md here (default: print only)",
                              io="out", kind="dir")  # fmt: skip


def load(run: str) -> dict[str, list[PredictionRow]]:
    """An evaluate run's samples by problem id; a suite run (``--suite``) is all of its datasets' runs."""
    paths = [Path(run) / "predictions.jsonl"]
    if not paths[0].exists():
        paths = [Path(run) / "graded.jsonl"]  # a `mathforge grade` output folder
    if not paths[0].exists() and (Path(run) / "suite.json").exists():
        paths = sorted(Path(run).glob("*/predictions.jsonl"))
    by: dict[str, list[PredictionRow]] = defaultdict(list)
    for path in paths:
        for _, row in read_rows(path, PredictionRow):
            by[f"{row.dataset}/{row.id}" if len(paths) > 1 else row.id].append(row)
    return {k: sorted(v, key=lambda r: r.sample) for k, v in by.items()}


def compare_pair(a: dict[str, list[PredictionRow]], b: dict[str, list[PredictionRow]]) -> dict:
    ids = sorted(set(a) & set(b))
    if not ids:
        raise DataError("the runs share no problem ids", field="runs")
    flips = {"fixed": 0, "broken": 0, "both_right": 0, "both_wrong": 0}
    for i in ids:
        x, y = a[i][0].correct, b[i][0].correct
        flips[
            "fixed" if y and not x else "broken" if x and not y else "both_right" if x else "both_wrong"
        ] += 1
    mean_a = [sum(r.correct for r in a[i]) / len(a[i]) for i in ids]
    mean_b = [sum(r.correct for r in b[i]) / len(b[i]) for i in ids]
    diff, lo, hi, p_boot = paired_bootstrap(mean_a, mean_b)
    subjects: dict[str, list[int]] = defaultdict(list)
    for k, i in enumerate(ids):
        subjects[a[i][0].subject or a[i][0].dataset or "all"].append(k)
    return {
        "problems": len(ids),
        "accuracy": [sum(mean_a) / len(ids), sum(mean_b) / len(ids)],
        "flips": flips,
        "mcnemar_p": mcnemar_exact(flips["fixed"], flips["broken"]),
        "difference": diff,
        "difference_ci95": [lo, hi],
        "bootstrap_share_not_better": p_boot,
        "by_subject": {
            s: {
                "problems": len(ks),
                "a": sum(mean_a[k] for k in ks) / len(ks),
                "b": sum(mean_b[k] for k in ks) / len(ks),
            }
            for s, ks in sorted(subjects.items())
        },  # fmt: skip
    }


def run(cfg: CompareConfig) -> dict:
    if len(cfg.runs) < 2:
        raise DataError("compare needs two or more runs", field="runs")
    base = load(cfg.runs[0])
    result = {"baseline": cfg.runs[0], "unit": "fraction",
              "comparisons": {r: compare_pair(base, load(r)) for r in cfg.runs[1:]}}  # fmt: skip
    if cfg.out:
        write_json(Path(cfg.out) / "compare.json", result)
        (Path(cfg.out) / "compare.md").write_text(render(result), encoding="utf-8")
    return result


def render(result: dict) -> str:
    lines = [f"# Paired comparison against {result['baseline']}", "",
             "| run | problems | accuracy A (%) | accuracy B (%) | B - A (points) | 95% interval | fixed | broken | "
             "both right | both wrong | McNemar p |", "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | "
             "---: | ---: |"]  # fmt: skip
    for name, c in result["comparisons"].items():
        f = c["flips"]
        lo, hi = c["difference_ci95"]
        lines.append(f"| {name} | {c['problems']} | {100 * c['accuracy'][0]:.1f} | {100 * c['accuracy'][1]:.1f} | "
                     f"{100 * c['difference']:+.1f} | {100 * lo:+.1f} to {100 * hi:+.1f} | {f['fixed']} | {f['broken']} | "
                     f"{f['both_right']} | {f['both_wrong']} | {c['mcnemar_p']:.3g} |")  # fmt: skip
    for name, c in result["comparisons"].items():
        if len(c["by_subject"]) > 1:
            lines += ["", f"Per subject, {name}:", "", "| subject | problems | A (%) | B (%) | B - A |",
                      "| --- | ---: | ---: | ---: | ---: |"]  # fmt: skip
            for s, v in c["by_subject"].items():
                lines.append(
                    f"| {s} | {v['problems']} | {100 * v['a']:.1f} | {100 * v['b']:.1f} | {100 * (v['b'] - v['a']):+.1f} |"
                )
    return "\n".join(lines) + "\n"


def report(cfg: CompareConfig, result: dict) -> int:
    print(render(result))
    return 0
