"""The page: every run's payload, compressed into one self-contained HTML file built from template.html.

The template, its stylesheet and its script are files beside this module (package data), inlined here; the
data travels as gzip-compressed JSON in base64 (the page decodes it with the browser's DecompressionStream),
which is several times smaller than the JSON itself. Nothing is fetched when the page opens.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from pathlib import Path

from mathforge.view.compare import compare
from mathforge.view.payload import MAX_CHARS, Problems, run_payload
from mathforge.view.sources import EvalRun, NothingToShow, TrainRun, load_sources

HERE = Path(__file__).parent
_SLOT = re.compile(r"\{\{(TITLE|STYLE|SCRIPT|PAYLOAD)\}\}")


@dataclass
class ViewResult:
    out: Path
    runs: list[str]
    trains: list[str]
    json_bytes: int  # the payload as JSON
    html_bytes: int  # the whole page


def build_payload(
    evals: list[EvalRun], trains: list[TrainRun], title: str, max_chars: int = MAX_CHARS
) -> dict:
    problems = Problems()
    runs = [run_payload(run, problems, max_chars) for run in evals]
    return {
        "title": title,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "version": _version(),
        "max_chars": max_chars,
        "problems": problems.items,
        "runs": runs,
        "comparisons": [compare(base, other, problems.index) for base, other in pairs(evals)],
        "suite": suite(evals),
        "trains": [train_payload(t) for t in trains],
    }


def pairs(evals: list[EvalRun]) -> list[tuple[EvalRun, EvalRun]]:
    """Each run with the first run before it that has any of its problems (its baseline): runs of the same
    problems all pair with the first; a suite (one run per model and dataset) pairs by dataset."""
    ids = [{r.id for r in run.rows} for run in evals]
    out = []
    for j in range(1, len(evals)):
        base = next((i for i in range(j) if ids[i] & ids[j]), None)
        if base is not None:
            out.append((evals[base], evals[j]))
    return out


def suite(evals: list[EvalRun]) -> list[dict]:
    """Accuracy per (dataset, run) when the runs cover more than one dataset (a suite); else nothing."""
    cells: dict[tuple[str, str], list[bool]] = {}
    for run in evals:
        for r in run.rows:
            cells.setdefault((r.dataset or "?", run.name), []).append(r.correct)
    if len({d for d, _ in cells}) < 2:
        return []
    return [{"dataset": d, "run": name, "samples": len(v), "accuracy": sum(v) / len(v)}
            for (d, name), v in cells.items()]  # fmt: skip


def train_payload(train: TrainRun) -> dict:
    stages = []
    for s in train.stages:
        trained, total = s.get("trained_tokens_per_epoch"), s.get("tokens_per_epoch")
        curve = [
            [p["step"], p.get("loss"), p.get("lr")] for p in s["loss_curve"] if p.get("loss") is not None
        ]
        stages.append({
            "stage": s["stage"],
            "base_model": s.get("base_model"),
            "global_step": s.get("global_step"),
            "samples": s.get("samples"),
            "by_mode": s.get("by_mode") or {},
            "by_format": s.get("by_format") or {},
            # the share of tokens the loss ignores: prompt tokens and the interpreter's output
            "masked_fraction": 1 - trained / total if trained is not None and total else None,
            "trained_tokens_per_epoch": trained,
            "tokens_per_epoch": total,
            "tokens_per_s": s.get("tokens_per_s"),
            "train_runtime_s": s.get("train_runtime_s"),
            "final_loss": curve[-1][1] if curve else s.get("train_loss"),
            "curve": curve,
        })  # fmt: skip
    return {"name": train.name, "path": str(train.path), "stages": stages}


def render_html(payload: dict) -> str:
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")
    parts = {
        "TITLE": escape(payload["title"]),
        "STYLE": (HERE / "view.css").read_text(encoding="utf-8"),
        "SCRIPT": (HERE / "view.js").read_text(encoding="utf-8"),
        # mtime=0: the same runs give the same bytes
        "PAYLOAD": base64.b64encode(gzip.compress(data, compresslevel=9, mtime=0)).decode("ascii"),
    }
    template = (HERE / "template.html").read_text(encoding="utf-8")
    return _SLOT.sub(lambda m: parts[m.group(1)], template)  # one pass: inlined text is never re-scanned


def write_view(
    out: str | Path, paths: list[str | Path], *, title: str | None = None, max_chars: int = MAX_CHARS
) -> ViewResult:
    """Read the runs under ``paths`` and write the page to ``out`` (atomically)."""
    evals, trains = load_sources(paths)
    title = title or "mathforge: " + ", ".join(r.name for r in [*evals, *trains])
    payload = build_payload(evals, trains, title, max_chars)
    html = render_html(payload)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text(html, encoding="utf-8", errors="replace")
    os.replace(tmp, out)
    json_bytes = len(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")
    )
    return ViewResult(out, [r.name for r in evals], [t.name for t in trains], json_bytes, out.stat().st_size)


def write_beside(folder: str | Path, paths: list[str | Path] | None = None, **kwargs) -> Path | None:
    """``folder/report.html`` from ``paths`` (default: the folder itself), for evaluate and demo.

    The run's own outputs are already written when this is called; a page that cannot be drawn is reported
    on stderr and does not fail the run (the page can be made later with ``mathforge view``); a run that
    has no rows yet (it failed before its first sample) gets no page and no message.
    """
    folder = Path(folder)
    try:
        return write_view(folder / "report.html", paths or [folder], **kwargs).out
    except NothingToShow:
        return None
    except Exception as exc:  # noqa: BLE001 - a report page must not cost an evaluation its exit status
        print(f"report.html not written ({type(exc).__name__}: {exc}); run `mathforge view {folder}` to retry",
              file=sys.stderr)  # fmt: skip
        return None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mathforge")
    except PackageNotFoundError:
        return "?"
