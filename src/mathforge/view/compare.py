"""Two or more runs of the same problems: flips against the first run, their significance, subject deltas.

A problem counts as right in a run when more than half of its samples are correct (with one sample: that
sample). Each later run is paired with the first (the baseline) on the problems both have:

* the flip table: fixed (wrong -> right), broken (right -> wrong), both right, both wrong;
* the exact McNemar test: under "no difference" a discordant problem is fixed or broken with probability
  1/2, so the two-sided p-value is a binomial test of ``fixed`` among ``fixed + broken``;
* a paired bootstrap interval of the accuracy difference (problems resampled, both runs together);
* per-subject accuracies and their difference.
"""

from __future__ import annotations

from collections import defaultdict

from mathforge.view.payload import level_name
from mathforge.view.sources import EvalRun

BOOTSTRAP_RESAMPLES = 2000
FLIPS = ("fixed", "broken", "both_right", "both_wrong")


def problem_scores(run: EvalRun) -> dict[str, float]:
    """Each problem's fraction of correct samples."""
    samples: dict[str, list[bool]] = defaultdict(list)
    for r in run.rows:
        samples[r.id].append(r.correct)
    return {pid: sum(v) / len(v) for pid, v in samples.items()}


def flip_of(base: float, other: float) -> str:
    right_before, right_after = base > 0.5, other > 0.5
    if right_before == right_after:
        return "both_right" if right_after else "both_wrong"
    return "fixed" if right_after else "broken"


def mcnemar_exact(fixed: int, broken: int) -> float:
    """Two-sided exact McNemar p-value (1.0 when no problem flipped)."""
    if fixed + broken == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(fixed, fixed + broken, 0.5).pvalue)


def bootstrap_difference(base: list[float], other: list[float], seed: int = 0) -> list[float]:
    """95% percentile interval of mean(other) - mean(base), resampling problems in pairs."""
    import numpy as np

    diff = np.asarray(other, dtype=float) - np.asarray(base, dtype=float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(diff), size=(BOOTSTRAP_RESAMPLES, len(diff)))
    means = diff[picks].mean(axis=1)
    return [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]


def compare(base: EvalRun, other: EvalRun, problem_index: dict[str, int]) -> dict:
    """The comparison of ``other`` with ``base`` (problem indices as in the page's problem table)."""
    a, b = problem_scores(base), problem_scores(other)
    shared = [pid for pid in a if pid in b]
    flips = {pid: flip_of(a[pid], b[pid]) for pid in shared}
    counts = {name: sum(f == name for f in flips.values()) for name in FLIPS}
    acc_a = sum(a[p] for p in shared) / max(1, len(shared))
    acc_b = sum(b[p] for p in shared) / max(1, len(shared))
    return {
        "base": base.name,
        "other": other.name,
        "shared": len(shared),
        "only_base": len(a) - len(shared),
        "only_other": len(b) - len(shared),
        "accuracy": [acc_a, acc_b],
        "difference": acc_b - acc_a,
        "interval": bootstrap_difference([a[p] for p in shared], [b[p] for p in shared]) if shared else None,
        "counts": counts,
        "p_value": mcnemar_exact(counts["fixed"], counts["broken"]),
        "flips": {name: [problem_index[p] for p in shared if flips[p] == name] for name in FLIPS},
        "subjects": group_deltas(base, a, b, shared, lambda r: r.subject),
        "levels": group_deltas(base, a, b, shared, lambda r: level_name(r.level)),
    }


def group_deltas(base: EvalRun, a: dict, b: dict, shared: list[str], key) -> list[dict]:
    group_of = {}
    for r in base.rows:
        group_of.setdefault(r.id, key(r) or "?")
    groups: dict[str, list[str]] = defaultdict(list)
    for pid in shared:
        groups[group_of[pid]].append(pid)
    if len(groups) < 2:
        return []
    out = []
    for name, pids in sorted(groups.items()):
        acc_a = sum(a[p] for p in pids) / len(pids)
        acc_b = sum(b[p] for p in pids) / len(pids)
        flips = [flip_of(a[p], b[p]) for p in pids]
        out.append({"name": name, "problems": len(pids), "base": acc_a, "other": acc_b, "delta": acc_b - acc_a,
                    "fixed": flips.count("fixed"), "broken": flips.count("broken")})  # fmt: skip
    return out
