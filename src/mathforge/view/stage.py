"""``mathforge view``: one self-contained HTML page for runs, their comparison and training curves."""

from __future__ import annotations

from mathforge.config import Config, setting
from mathforge.registry import Stage


class ViewConfig(Config):
    """Which runs to draw and where the page goes."""

    runs: list[str] = setting(
        help="evaluate run folders (or predictions files), train output folders, or folders holding them "
        "(e.g. a demo's output); with two or more evaluate runs, the first is the comparison's baseline",
        io="in",
        kind="dir",
        positional=True,
        metavar="RUN_DIR",
    )
    out: str = setting("report.html", "the HTML file to write", io="out")
    title: str | None = setting(None, "the page's title (default: the runs' names)")
    max_chars: int = setting(
        6000, "longest text, code or output block shown whole; a longer one keeps its head and tail", ge=200
    )


def run(cfg: ViewConfig):
    from mathforge.view.page import write_view

    return write_view(cfg.out, cfg.runs, title=cfg.title, max_chars=cfg.max_chars)


def report(cfg: ViewConfig, result) -> int:
    what = [f"{len(result.runs)} run(s)"] + (
        [f"{len(result.trains)} training folder(s)"] if result.trains else []
    )
    print(f"wrote {result.out} ({result.html_bytes / 1024:.0f} KiB; {', '.join(what)}): open it in a browser")
    return 0


STAGES = [
    Stage(
        "view",
        ViewConfig,
        run="mathforge.view.stage:run",
        report="mathforge.view.stage:report",
        help="write one self-contained HTML page for evaluate runs (compared when several) and train folders",
        description=(
            "Read evaluate runs (predictions.jsonl, metrics.json, config.json), grade outputs (graded.jsonl) "
            "and train output folders (train_summary.json per stage) and write one HTML file that works "
            "offline from file://: summary cards, accuracy per subject, level and dataset, a filterable "
            "problem table (paginated, 50 a page) with each trajectory as it ran, a flip table with the exact "
            "McNemar test and per-subject deltas against the first run, and loss curves per training stage."
        ),
    )
]
