"""The run viewer: one self-contained HTML page for evaluate runs, their comparison and train curves.

``write_view(out, paths)`` reads evaluate (or grade) run folders and train output folders
(:mod:`mathforge.view.sources`), turns them into a compact payload (:mod:`mathforge.view.payload`,
:mod:`mathforge.view.compare`) and writes the page from ``template.html`` (:mod:`mathforge.view.page`).
``mathforge view`` is the verb; evaluate and demo call :func:`write_beside` to leave ``report.html`` next to
``report.md``.
"""

from mathforge.view.page import ViewResult, build_payload, render_html, write_beside, write_view
from mathforge.view.sources import EvalRun, TrainRun, load_sources

__all__ = [
    "EvalRun",
    "TrainRun",
    "ViewResult",
    "build_payload",
    "load_sources",
    "render_html",
    "write_beside",
    "write_view",
]
