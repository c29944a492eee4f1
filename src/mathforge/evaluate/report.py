"""report.md: a run's settings, scores, breakdowns, tool use, timing and one example trajectory."""

from __future__ import annotations

from mathforge.evaluate.metrics import score_keys
from mathforge.rows import PredictionRow


def _pct(x) -> str:
    return f"{100 * x:.1f}" if isinstance(x, (int, float)) else str(x)


def render_report(metrics: dict, example: PredictionRow | None = None) -> str:
    cfg = metrics.get("config", {})
    title = f"# Evaluation: {cfg.get('model', '?')} on {cfg.get('dataset', '?')}"
    lines = [title, ""]
    if metrics.get("partial"):
        lines += [f"**Partial** ({metrics['partial']}): these figures cover the samples that finished. "
                  "Re-run the same command to resume; it retries what failed.", ""]  # fmt: skip
    if metrics.get("failed"):
        lines += ["| failed sample | error |", "| --- | --- |"]
        lines += [f"| {f['id']} #{f['sample']} | {f['error']} |" for f in metrics["failed"]["first"]]
        lines.append("")
    lines += ["| setting | value |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in cfg.items()]
    lines += ["", "## Results", "", "Accuracies are percentages of samples.", ""]
    lines += ["| metric | value (%) |", "| --- | ---: |"]
    lines += [f"| {k} | {_pct(metrics[k])} |" for k in score_keys(metrics)]
    if metrics.get("accuracy_ci95"):
        lo, hi = metrics["accuracy_ci95"]
        lines.append(f"| accuracy 95% interval (bootstrap over problems) | {_pct(lo)}-{_pct(hi)} |")
    grading = metrics.get("grading", {})
    lines += [
        f"| answered | {_pct(metrics.get('answered', 0))} |",
        "",
        f"{metrics['problems']} problems, {metrics['samples']} samples. Grader timeouts "
        f"{grading.get('timeouts', 0)}, errors {grading.get('errors', 0)}, no answer extracted "
        f"{grading.get('no_answer', 0)}.",
        "",
    ]
    for name, title in (("by_subject", "Per subject"), ("by_level", "Per level")):
        groups = metrics.get(name)
        if not groups:
            continue
        keys = [k for k in next(iter(groups.values())) if k != "problems"]
        lines += [
            f"## {title}",
            "",
            "| group | problems | " + " | ".join(f"{k} (%)" for k in keys) + " |",
            "| --- | ---: | " + " | ".join("---:" for _ in keys) + " |",
        ]
        for g, m in groups.items():
            lines.append(f"| {g} | {m['problems']} | " + " | ".join(_pct(m[k]) for k in keys) + " |")
        lines.append("")
    ex = metrics.get("executions", {})
    lines += [
        "## Tool use",
        "",
        f"{ex.get('total', 0)} executions ({ex.get('per_sample', 0):.2f} per sample); "
        f"{ex.get('invalid_text_outputs', 0)} printed text that is not valid Unicode (shown as U+FFFD).",
        "",
        "| finish reason | samples |",
        "| --- | ---: |",
    ]
    lines += [f"| {k} | {v} |" for k, v in metrics.get("finish", {}).items()]
    if ex.get("by_status"):
        lines += ["", "| execution status | count |", "| --- | ---: |"]
        lines += [f"| {k} | {v} |" for k, v in ex["by_status"].items()]
    t = metrics.get("timing", {})
    if t:
        lines += ["", "## Timing (this run)", "", "| figure | value |", "| --- | ---: |"]
        lines += [f"| {k} | {v:.3g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in t.items()]
    if example is not None:
        lines += [
            "",
            f"## Example trajectory ({example.id}, sample {example.sample}, "
            f"{'correct' if example.correct else 'wrong'})",
            "",
            "````text",
            example.prompt + example.text,
            "````",
        ]
    return "\n".join(lines) + "\n"


def pick_example(rows: list[PredictionRow]) -> PredictionRow | None:
    """A correct sample that used the interpreter, else any correct one, else the first."""
    for cond in (lambda r: r.correct and r.executions, lambda r: r.correct, lambda r: True):
        for r in rows:
            if cond(r):
                return r
    return None
