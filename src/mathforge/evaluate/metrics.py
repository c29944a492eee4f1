"""metrics.json and report.md from the rows of predictions.jsonl."""

from __future__ import annotations

from collections import Counter, defaultdict

from mathforge.infer.consistency import EquivMany, answer_classes, default_ks, sample_metrics


def compute_metrics(rows: list[dict], problems: list, n: int, equiv_many: EquivMany) -> dict:
    """Accuracy (mean over samples), maj@k / pass@k, and both per subject and per level."""
    by_problem: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_problem[r["id"]].append(r)
    per_problem = []  # (problem, correct list, class list)
    for p in problems:
        samples = sorted(by_problem.get(str(p.id), []), key=lambda r: r["sample"])[:n]
        if not samples:
            continue
        correct = [bool(r["correct"]) for r in samples]
        classes = answer_classes([r["answer"] for r in samples], equiv_many)
        per_problem.append((p, correct, classes))
    used = [r for p, _, _ in per_problem for r in by_problem[str(p.id)] if r["sample"] < n]
    metrics: dict = {"problems": len(per_problem), "samples": len(used)}
    metrics.update(_block(per_problem, n))
    for name, key in (("by_subject", _subject), ("by_level", _level)):
        groups: dict[str, list] = defaultdict(list)
        for item in per_problem:
            groups[key(item[0])].append(item)
        if len(groups) > 1 or "?" not in groups:
            metrics[name] = {
                g: {"problems": len(items), **_block(items, n)} for g, items in sorted(groups.items())
            }
    metrics["finish"] = dict(Counter(r.get("finish", "") for r in used).most_common())
    statuses = Counter(e["status"] for r in used for e in r.get("executions", []))
    metrics["executions"] = {
        "total": sum(statuses.values()),
        "by_status": dict(statuses.most_common()),
        "per_sample": sum(statuses.values()) / max(1, len(used)),
    }
    metrics["answered"] = sum(r.get("answer") is not None for r in used) / max(1, len(used))
    return metrics


def _block(items, n: int) -> dict:
    all_correct = [c for _, correct, _ in items for c in correct]
    out = {"accuracy": sum(all_correct) / max(1, len(all_correct))}
    ks = [k for k in default_ks(n) if k > 1] if n > 1 else []
    if ks:
        out.update(sample_metrics([(c, k) for _, c, k in items], [1, *ks]))
    return out


def _subject(p) -> str:
    meta = getattr(p, "meta", None) or {}
    return str(meta.get("subject") or meta.get("type") or "?")


def _level(p) -> str:
    meta = getattr(p, "meta", None) or {}
    level = meta.get("level")
    if level is None:
        return "?"
    level = str(level)
    return level if level.lower().startswith("level") else f"Level {level}"


def _pct(x) -> str:
    return f"{100 * x:.1f}" if isinstance(x, (int, float)) else str(x)


def render_report(metrics: dict, example: dict | None = None) -> str:
    cfg = metrics.get("config", {})
    lines = [f"# Evaluation: {cfg.get('model', '?')} on {cfg.get('dataset', '?')}", ""]
    lines += ["| setting | value |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in cfg.items()]
    lines += ["", "## Results", "", "| metric | value (%) |", "| --- | ---: |"]
    score_keys = ["accuracy"] + [k for k in metrics if k.startswith(("maj@", "pass@"))]
    lines += [f"| {k} | {_pct(metrics[k])} |" for k in score_keys]
    lines += [
        f"| answered | {_pct(metrics.get('answered', 0))} |",
        "",
        f"{metrics['problems']} problems, {metrics['samples']} samples.",
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
        f"{ex.get('total', 0)} executions ({ex.get('per_sample', 0):.2f} per sample).",
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
    if example:
        lines += [
            "",
            f"## Example trajectory ({example['id']}, sample {example['sample']}, "
            f"{'correct' if example['correct'] else 'wrong'})",
            "",
            "````text",
            example["prompt"] + example["text"],
            "````",
        ]
    return "\n".join(lines) + "\n"
