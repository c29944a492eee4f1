"""``mathforge evaluate --suite NAME``: one model, one config, a named list of benchmarks, one table.

Suites are data (``suites.yaml`` beside this module, or a YAML file of the same shape): the datasets, their
column labels and reference rows (numbers a paper reports). Each dataset is an ordinary evaluation in
``OUT/<dataset>/`` (so the suite resumes per dataset, and each keeps its own report); the model is loaded
once. ``OUT/suite.json`` and ``OUT/suite.md`` hold the table: a column per dataset and the average, this
run's accuracy with its 95% interval, and the reference rows beside it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from mathforge.io import DataError, read_yaml, write_json

SUITES_FILE = Path(str(resources.files("mathforge.evaluate") / "suites.yaml"))


def load_suite(name: str) -> dict:
    """A suite by name (suites.yaml) or from a YAML file (a mapping with ``datasets``)."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.exists():
        suite = read_yaml(path)
    else:
        known = read_yaml(SUITES_FILE)
        if name not in known:
            raise DataError(
                f"unknown suite {name!r}; suites: {', '.join(known)} (or a YAML file)", field="suite"
            )
        suite = known[name]
    if not isinstance(suite, dict) or not isinstance(suite.get("datasets"), list) or not suite["datasets"]:
        raise DataError("a suite is a mapping with a non-empty 'datasets' list", name, field="suite")
    return {"name": Path(name).stem, "labels": {}, "reference": {}, **suite}


def run_suite(cfg, backend=None) -> dict:
    """Evaluate every dataset of the suite (each resumable), then write the suite table."""
    from mathforge.evaluate.runner import run
    from mathforge.llm import load_backend

    suite = load_suite(cfg.suite)
    own = backend is None
    backend = load_backend(cfg) if own else backend
    results = {}
    try:
        for dataset in suite["datasets"]:
            sub = cfg.model_copy(
                update={"suite": None, "dataset": dataset, "out": str(Path(cfg.out) / dataset)}
            )
            results[dataset] = run(sub, backend=backend)
    finally:
        if own:
            backend.close()
    reference = dict(suite["reference"])
    if cfg.reference:
        reference.update(read_yaml(cfg.reference))
    table = suite_table(suite, results, reference)
    write_json(Path(cfg.out) / "suite.json", table)
    (Path(cfg.out) / "suite.md").write_text(render_suite(table), encoding="utf-8")
    return table


def suite_table(suite: dict, results: dict, reference: dict) -> dict:
    """This run's row (fractions, with intervals) and the reference rows (percent, as papers print them)."""
    datasets = list(suite["datasets"])
    accuracy = {d: results[d]["accuracy"] for d in datasets}
    return {
        "suite": suite["name"],
        "description": suite.get("description", ""),
        "datasets": datasets,
        "labels": {d: suite["labels"].get(d, d) for d in datasets},
        "unit": "fraction",
        "accuracy": accuracy,
        "ci95": {d: results[d].get("accuracy_ci95") for d in datasets},
        "problems": {d: results[d]["problems"] for d in datasets},
        "average": sum(accuracy.values()) / len(accuracy),
        "reference": {name: {d: row[d] for d in datasets if d in row} for name, row in reference.items()},
    }


def render_suite(table: dict) -> str:
    datasets = table["datasets"]
    head = [table["labels"][d] for d in datasets] + ["Average"]
    lines = [f"# Suite {table['suite']}", "", table.get("description", ""), "",
             "Accuracy in %; this run's 95% interval (bootstrap over problems) under each number.", "",
             "| model | " + " | ".join(head) + " |", "| --- | " + " | ".join("---:" for _ in head) + " |"]  # fmt: skip
    row = [f"{100 * table['accuracy'][d]:.1f}" for d in datasets] + [f"{100 * table['average']:.1f}"]
    lines.append("| this run | " + " | ".join(row) + " |")
    cis = [(f"{100 * c[0]:.1f}-{100 * c[1]:.1f}" if c else "-") for c in (table["ci95"][d] for d in datasets)]
    lines.append("| (95% interval) | " + " | ".join(cis) + " | |")
    lines.append("| (problems) | " + " | ".join(str(table["problems"][d]) for d in datasets) + " | |")
    for name, ref in table["reference"].items():
        cells = [f"{ref[d]:.1f}" if d in ref else "-" for d in datasets]
        avg = f"{sum(ref.values()) / len(ref):.1f}" if len(ref) == len(datasets) else "-"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {avg} |")
    return "\n".join(lines) + "\n"
