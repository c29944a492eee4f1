"""``mathforge grade FILE --out DIR``: re-grade predictions with the grader, write graded rows and metrics.

It reads ``mathforge evaluate``'s own ``predictions.jsonl`` (the answer is re-extracted from each transcript,
so a better extractor or grader re-scores an old run), and foreign files mapped into the same
:class:`~mathforge.rows.PredictionRow`: rows with ``id``, ``gold`` and either ``output`` (model text, the
answer is extracted) or ``pred`` (an answer already extracted), optional ``sample``, ``subject``, ``level``.
With ``--dataset`` rows may leave out ``gold``, ``subject`` and ``level``: they are looked up by ``id``.

Outputs (the same layout as ``mathforge evaluate``): ``graded.jsonl`` (append-only, resumable),
``metrics.json`` and ``report.md``.
"""

from __future__ import annotations

from pathlib import Path

from mathforge.evaluate.config import GradeConfig
from mathforge.evaluate.metrics import summarize
from mathforge.evaluate.report import pick_example, render_report
from mathforge.io import DataError, progress, read_jsonl, write_json
from mathforge.rows import PredictionRow, RowLog, parse_row


def run(cfg: GradeConfig) -> dict:
    """Grade ``cfg.file`` into ``cfg.out``; returns the metrics (also in ``metrics.json``)."""
    rows = read_predictions(Path(cfg.file), _reference(cfg), cfg.limit)
    out = Path(cfg.out)
    with (
        RowLog(out / "graded.jsonl", PredictionRow, key=PredictionRow.key) as graded,
        cfg.make_grader() as grader,
    ):
        _check_same_input(graded, rows)
        grade_rows([r for r in rows if r.key() not in graded.done], grader, graded.append)
        metrics = {
            "config": {**cfg.model_dump(), "model": cfg.file},
            **summarize(graded.rows, grader.equiv_many),
        }
    write_json(out / "metrics.json", metrics)
    (out / "report.md").write_text(render_report(metrics, pick_example(graded.rows)), encoding="utf-8")
    return metrics


def grade_rows(todo: list[PredictionRow], grader, write) -> None:
    """Grade each row's answer against its gold; ``write`` the rows in input order as verdicts land."""
    pending = [i for i, r in enumerate(todo) if r.answer is not None]
    done: dict[int, PredictionRow] = {}
    next_write = 0
    with progress("grading", total=len(todo), unit="pairs") as advance:

        def land(index: int, correct: bool, status: str) -> None:
            nonlocal next_write
            row = todo[index]
            row.correct, row.grade_status = correct, status
            done[index] = row
            advance()
            while next_write in done:  # in input order: graded.jsonl reads like the file it grades
                write(done.pop(next_write))
                next_write += 1

        for i, r in enumerate(todo):
            if r.answer is None:
                land(i, False, "no_answer")
        grader.grade_many([(todo[i].answer, todo[i].gold, todo[i].grading) for i in pending],
                          on_result=lambda j, res: land(pending[j], bool(res.correct), res.status))  # fmt: skip


def _check_same_input(graded: RowLog, rows: list[PredictionRow]) -> None:
    """Rows graded earlier into this folder must come from this input, or the metrics would mix two files."""
    keys = {r.key() for r in rows}
    foreign = [g for g in graded.rows if g.key() not in keys]
    if foreign:
        raise DataError(f"{graded.path} holds rows of another input (e.g. id {foreign[0].id!r}); "
                        "use another --out or remove it to regrade", graded.path)  # fmt: skip


def _reference(cfg: GradeConfig) -> dict:
    if not cfg.dataset:
        return {}
    from mathforge.data import load_problems

    return {p.id: p for p in load_problems(cfg.dataset, split=cfg.split, data_dir=cfg.data_dir)}


def read_predictions(path: Path, reference: dict, limit: int | None = None) -> list[PredictionRow]:
    """Every row of ``path`` as a :class:`PredictionRow` with its answer (re-)extracted."""
    from mathforge.infer import answer_of

    rows: list[PredictionRow] = []
    samples: dict[str, int] = {}
    for line, raw in read_jsonl(path):
        if "id" not in raw:
            raise DataError("missing required field", path, line, "id")
        raw["id"] = str(raw["id"])
        ref = reference.get(raw["id"])
        if reference and ref is None and raw.get("gold") is None:
            raise DataError(
                f"id {raw['id']!r} is not in the dataset and the row has no gold", path, line, "id"
            )
        if ref is not None:
            raw.setdefault("gold", ref.gold)
            raw.setdefault("dataset", ref.dataset)
            for key in ("subject", "level", "grading"):
                if raw.get(key) is None and ref.meta.get(key) is not None:
                    raw[key] = ref.meta[key]
        if raw.get("gold") is None:
            raise DataError(
                "missing required field (or pass --dataset to look golds up by id)", path, line, "gold"
            )
        if "text" not in raw:  # a foreign row: model text in `output`, or an extracted answer in `pred`
            if "output" not in raw and "pred" not in raw:
                raise DataError(
                    "a row needs 'output' (model text) or 'pred' (extracted answer)", path, line, "output"
                )
            for key in ("output", "pred"):
                if raw.get(key) is not None and not isinstance(raw[key], (str, int, float)):
                    raise DataError(f"expected a string, got {type(raw[key]).__name__}", path, line, key)
            raw["text"] = str(raw.get("output") or "")
            raw.setdefault("mode", "given" if raw.get("pred") is not None else "cot")
        if "sample" not in raw:  # several rows of one id are its samples, in file order
            raw["sample"] = samples.get(raw["id"], 0)
        samples[raw["id"]] = max(samples.get(raw["id"], 0), int(raw["sample"]) + 1)
        row = parse_row(PredictionRow, raw, path, line)
        if raw.get("pred") is not None:
            row.answer = str(raw["pred"]).strip()
        else:
            row.answer = answer_of(row.mode, row.text, row.executions)
        rows.append(row)
    if not rows:
        raise DataError("no predictions to grade (the file is empty)", path)
    if limit is not None:
        keep = list(dict.fromkeys(r.id for r in rows))[:limit]
        rows = [r for r in rows if r.id in set(keep)]
    return rows


def report(cfg: GradeConfig, metrics: dict) -> int:
    from rich.console import Console

    from mathforge.evaluate.tables import metrics_table

    Console().print(metrics_table(metrics, title=f"grade {cfg.file}"))
    print(f"wrote {cfg.out}/graded.jsonl, metrics.json and report.md")
    return 0
