"""``run(cfg)`` of each augment stage: code, audit, perturb, rationale, teacher. Each returns its stats."""

from __future__ import annotations

from collections import Counter

from mathforge.augment.config import (
    AugmentAuditConfig,
    AugmentCodeConfig,
    AugmentPerturbConfig,
    AugmentRationaleConfig,
    AugmentTeacherConfig,
)
from mathforge.io import JsonlAppender, progress, write_jsonl


def run_code(cfg: AugmentCodeConfig) -> dict:
    """GSM8K chains -> sandbox-verified code-nested solutions (rejects say why)."""
    from mathforge.augment.pipeline import conversion_row, convert_many

    problems, ledger = _shard(cfg, cfg.load_gsm8k(), "augment code", {"": "source_id", ".rejects": "id"})
    with cfg.output(key=lambda r: r["source_id"], reject_key=lambda r: r["id"],
                    title="GSM8K chain -> code-nested") as output, cfg.make_sandbox() as sandbox:  # fmt: skip
        todo = [p for p in problems if not output.done(p.id)]
        with progress("chain -> code", total=len(todo), unit="problem") as advance:
            for problem, conv in convert_many(todo, sandbox, advance=advance):
                if conv.ok:
                    output.keep(conversion_row(problem, conv))
                else:
                    output.reject({"id": problem.id, **conv.detail}, conv.reason)
        kept, rejected = len(output.kept.rows), output.rejected.rows
        total = kept + len(rejected)
        _finish(ledger)
        return output.finish({
            "total": total,
            "converted": kept,
            "rate": round(kept / total, 4) if total else 0.0,
            "rejected": dict(Counter(r["reason"] for r in rejected).most_common()),
        })  # fmt: skip


def run_audit(cfg: AugmentAuditConfig) -> dict:
    """GSM8K label audit; cheap to recompute, so the findings are written whole, atomically."""
    from mathforge.augment.audit import audit_answer
    from mathforge.stage_output import report_stats

    problems = cfg.load_gsm8k()
    findings = [f for p in problems for f in audit_answer(p.id, p.solution)]
    write_jsonl(cfg.out, findings)
    stats = {
        "problems": len(problems),
        "problems_flagged": len({f["id"] for f in findings}),
        "findings": len(findings),
        "by_reason": dict(Counter(f["reason"] for f in findings).most_common()),
    }
    return report_stats(stats, cfg.stats_file(), "GSM8K label audit")


def run_perturb(cfg: AugmentPerturbConfig) -> dict:
    """New numbers for GSM8K problems, chains re-executed; one source row per finished problem (resume)."""
    from mathforge.augment.perturb import perturb_parallel

    problems, shard = _shard(
        cfg, cfg.load_gsm8k(), "augment perturb", {"": "source_id", ".sources": "source_id"}
    )
    # one row per finished source problem (also those with no variant), so a resumed run skips them
    ledger = JsonlAppender(cfg.out_file().with_suffix(".sources.jsonl"), key=lambda r: r["source_id"])
    with cfg.output(key=lambda r: r["id"], title="GSM8K numeric perturbation") as output, ledger as sources:
        todo = [p for p in problems if p.id not in sources.done]
        with progress("perturb", total=len(todo), unit="problem") as advance:
            for source_id, variants, counts in perturb_parallel(
                todo, cfg.n, cfg.seed, cfg.tries, cfg.workers
            ):
                for v in variants:
                    if v["id"] not in output.kept.done:
                        output.keep(v)
                sources.write({"source_id": source_id, "kept": len(variants), "counts": dict(counts)})
                advance(1)
        per_source = [r["kept"] for r in sources.rows]
        reasons: Counter = Counter()
        for r in sources.rows:
            reasons.update(r["counts"])
        reasons.pop("kept", None)
        n_src = len(per_source)
        _finish(shard)
        return output.finish({
            "sources": n_src,
            "sources_with_variant": sum(1 for k in per_source if k),
            "variants": sum(per_source),
            "yield_per_source": round(sum(per_source) / n_src, 4) if n_src else 0.0,
            "yield_histogram": {str(k): per_source.count(k) for k in range(cfg.n + 1)},
            "skipped_or_rejected": dict(reasons.most_common()),
        })  # fmt: skip


def run_rationale(cfg: AugmentRationaleConfig) -> dict:
    """CoT rows from the gold rationales; a solution that has no final answer is rejected with a reason."""
    from mathforge.augment.rationale import RationaleError, cot_row

    problems, ledger = _shard(cfg, cfg.load_problems(), "augment rationale",
                              {"": "source_id", ".rejects": "source_id"})  # fmt: skip
    with cfg.output(key=lambda r: r["source_id"], title="gold rationales -> CoT rows") as output:
        for p in problems:
            if output.done(p.id):
                continue
            try:
                output.keep(cot_row(p))
            except RationaleError as exc:
                output.reject({"source_id": p.id}, str(exc))
        kept, rejected = len(output.kept.rows), output.rejected.rows
        _finish(ledger)
        return output.finish({"problems": len(problems), "kept": kept,
                              "rejected": dict(Counter(r["reason"] for r in rejected).most_common())})  # fmt: skip


def run_teacher(cfg: AugmentTeacherConfig) -> dict:
    """Ask the teacher for new questions; failed requests are counted, not recorded, so a re-run retries."""
    from mathforge.augment.teacher import augment_questions, row_key
    from mathforge.data import load_problems
    from mathforge.llm import load_backend

    problems = load_problems(cfg.dataset, split=cfg.split, data_dir=cfg.data_dir, limit=cfg.limit)
    problems, ledger = _shard(cfg, problems, "augment teacher", {"": "source_id", ".rejects": "source_id"})
    params = cfg.gen_params(n=cfg.n)
    with load_backend(cfg) as backend, cfg.output(key=row_key, title="teacher augmentation") as output:
        with progress("teacher", total=len(problems) * len(cfg.methods), unit="request") as advance:
            counts = augment_questions(problems, cfg.methods, backend, params, output, advance=advance,
                                       max_tasks=4 * cfg.concurrency, prompt_dir=cfg.prompt_dir)  # fmt: skip
        by_method = {}
        for m in cfg.methods:
            rejected = Counter(r["reason"] for r in output.rejected.rows if r["method"] == m)
            by_method[m] = {
                "accepted": sum(1 for r in output.kept.rows if r["method"] == m),
                "rejected": sum(rejected.values()),
                "reasons": dict(rejected.most_common()),
            }
        _finish(ledger, counts.get("request_failed", 0))
        return output.finish({
            "problems": len(problems), "methods": by_method, "accepted": len(output.kept.rows),
            "rejected": len(output.rejected.rows), "requests_failed": counts.get("request_failed", 0),
            **backend.stats(),
        })  # fmt: skip


def _shard(cfg, items: list, stage: str, units: dict[str, str]):
    """(this shard's items, its ledger) for ``--shard I/N``; (all items, None) otherwise."""
    from mathforge.shard import file_manifest, start_ledger

    mine = cfg.shard_items(items)
    return mine, start_ledger(
        cfg, file_manifest(cfg.out_file()), stage, items, [str(x.id) for x in mine], units
    )


def _finish(ledger, requests_failed: int = 0) -> None:
    if ledger is not None:
        ledger.finish(requests_failed=requests_failed)
