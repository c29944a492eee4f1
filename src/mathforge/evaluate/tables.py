"""The console table of a metrics dict (``mathforge grade``): overall, per subject, per level, in percent."""

from __future__ import annotations

from mathforge.evaluate.metrics import score_keys


def metrics_table(metrics: dict, title: str = "grading"):
    """A rich Table: one row overall, then one per subject and per level; scores as percentages."""
    from rich.table import Table

    keys = score_keys(metrics)
    table = Table(title=title)
    table.add_column("group")
    table.add_column("problems", justify="right")
    for k in keys:
        table.add_column(f"{k} (%)", justify="right")
    table.add_row("[bold]all", str(metrics["problems"]), *(f"{100 * metrics[k]:.2f}" for k in keys))
    for section, label in (("by_subject", ""), ("by_level", "")):
        for group, m in metrics.get(section, {}).items():
            table.add_row(f"{label}{group}", str(m["problems"]), *(f"{100 * m.get(k, 0):.2f}" for k in keys))
    g = metrics.get("grading", {})
    table.caption = (
        f"{metrics['samples']} samples; grader timeouts {g.get('timeouts', 0)}, errors {g.get('errors', 0)}, "
        f"no answer extracted {g.get('no_answer', 0)}"
    )
    return table
