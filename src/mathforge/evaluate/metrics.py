"""The metrics of a set of graded prediction rows: the one place accuracy is computed.

``mathforge evaluate`` and ``mathforge grade`` both call :func:`summarize`, so their ``metrics.json`` have
one layout and one unit: every accuracy is a **fraction of samples in [0, 1]** (``"unit": "fraction"``);
reports print it as a percentage and say so.

* ``accuracy``: mean correctness over all samples (n samples per problem count n times);
* ``maj@k`` / ``pass@k`` (n > 1): majority vote among a problem's first k samples, with answers grouped by
  the grader, and the unbiased pass@k estimator;
* the same per subject and per level, where the rows carry them;
* how samples ended, how many programs ran and with what status, and what the grader could not decide.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from mathforge.answer.classes import EquivMany, answer_classes
from mathforge.evaluate.sampling import default_ks, sample_metrics
from mathforge.evaluate.stats import bootstrap_ci, standard_error
from mathforge.rows import PredictionRow

UNIT = "fraction"


def summarize(rows: Iterable[PredictionRow], equiv_many: EquivMany, n: int | None = None) -> dict:
    """Metrics over ``rows`` (each problem's first ``n`` samples; all when None)."""
    by_problem: dict[str, list[PredictionRow]] = defaultdict(list)
    for r in rows:
        by_problem[r.id].append(r)
    problems = []  # (first row, correct per sample, class per sample)
    for samples in by_problem.values():
        samples = sorted(samples, key=lambda r: r.sample)[:n]
        classes = answer_classes([r.answer for r in samples], equiv_many)
        problems.append((samples[0], [r.correct for r in samples], classes))
    used = [r for samples in by_problem.values() for r in sorted(samples, key=lambda r: r.sample)[:n]]
    width = max((len(c) for _, c, _ in problems), default=1)
    metrics: dict = {"unit": UNIT, "problems": len(problems), "samples": len(used)}
    metrics.update(_scores(problems, width))
    per_problem = [sum(c) / len(c) for _, c, _ in problems]  # pass@1 [avg of k] of each problem
    metrics["accuracy_se"] = standard_error(per_problem)
    metrics["accuracy_ci95"] = list(bootstrap_ci(per_problem))  # over problems (seeded)
    if width > 1:
        metrics["pass@1[avg of k]"] = sum(per_problem) / max(1, len(per_problem))
    for name, key in (("by_subject", lambda r: r.subject), ("by_level", _level)):
        groups: dict[str, list] = defaultdict(list)
        for item in problems:
            groups[key(item[0]) or "?"].append(item)
        if len(groups) > 1 or "?" not in groups:
            metrics[name] = {g: {"problems": len(v), **_scores(v, width)} for g, v in sorted(groups.items())}
    metrics["finish"] = dict(Counter(r.finish for r in used).most_common())
    statuses = Counter(e.status for r in used for e in r.executions)
    metrics["executions"] = {
        "total": sum(statuses.values()),
        "by_status": dict(statuses.most_common()),
        "per_sample": sum(statuses.values()) / max(1, len(used)),
        # programs that printed text that is not valid Unicode (lone surrogates, raw bytes): shown as U+FFFD
        "invalid_text_outputs": sum(1 for r in used for e in r.executions if e.replaced),
    }
    grading = Counter(r.grade_status for r in used)
    metrics["answered"] = sum(r.answer is not None for r in used) / max(1, len(used))
    metrics["grading"] = {
        "timeouts": grading["timeout"],
        "errors": grading["error"],
        "no_answer": grading["no_answer"],
    }
    return metrics


def _scores(items, n: int) -> dict:
    correct = [c for _, cs, _ in items for c in cs]
    out = {"accuracy": sum(correct) / max(1, len(correct))}
    if n > 1:
        ks = [k for k in default_ks(n) if k > 1]
        out.update(sample_metrics([(c, k) for _, c, k in items], [1, *ks]))
    return out


def _level(row: PredictionRow) -> str | None:
    if row.level is None:
        return None
    return row.level if row.level.lower().startswith("level") else f"Level {row.level}"


def score_keys(metrics: dict) -> list[str]:
    """The headline scores present, in report order: accuracy, then maj@k and pass@k by k."""
    return ["accuracy"] + [k for k in metrics if k.startswith(("maj@", "pass@"))]
