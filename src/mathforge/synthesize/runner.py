"""``run(cfg)`` of ``mathforge synthesize``: generate CoT and code-nested paths, then filter them.

The steps: load the questions -> generate k CoT paths per question -> generate k code-nested paths
(through the tool-integrated loop, in the sandbox) -> filter (answer check or majority vote, dedup,
decontamination) -> write the kept rows and the stats. Samples are logged as they arrive
(``OUT.samples.jsonl``), so a killed run resumes and, with the request cache, a re-run costs nothing.
"""

from __future__ import annotations

from pathlib import Path

from mathforge.io import JsonlAppender, progress, write_jsonl
from mathforge.rows import write_rows
from mathforge.shard import file_manifest, start_ledger
from mathforge.stage_output import report_stats
from mathforge.synthesize.config import SynthesizeConfig


def run(cfg: SynthesizeConfig) -> dict:
    from mathforge.llm import load_backend
    from mathforge.synthesize.synth import generate_code, generate_cot, load_questions, sample_key

    everything = load_questions(cfg.dataset, split=cfg.split, data_dir=cfg.data_dir, limit=cfg.limit)
    questions = cfg.shard_items(everything)  # --shard I/N: this process's part
    ledger = start_ledger(cfg, file_manifest(cfg.out_file()), "synthesize", everything, [q.id for q in questions],
                          {"": "qid", ".samples": "qid", ".failed": "qid"})  # fmt: skip
    params = cfg.gen_params()
    failed: list[dict] = []  # requests that failed this run: not recorded, so a re-run retries them
    with load_backend(cfg) as backend, JsonlAppender(samples_file(cfg), key=sample_key) as samples:
        if cfg.k_cot > 0:
            with progress("CoT paths", total=len(questions), unit="question") as advance:
                failed += generate_cot(
                    questions, backend, params, cfg.k_cot, samples, advance, cfg.prompt_style
                )
        if cfg.k_code > 0:
            with (
                cfg.make_sandbox() as sandbox,
                progress("code paths", total=len(questions), unit="question") as go,
            ):
                failed += generate_code(questions, backend, params, cfg.k_code, samples, sandbox, cfg.max_rounds,
                                        go, cfg.prompt_style)  # fmt: skip
        write_jsonl(cfg.out_file().with_suffix(".failed.jsonl"), failed)
        kept, removed, test_counts = filter_all(cfg, questions, list(samples.rows))
        write_rows(cfg.out_file(), kept)
        stats = {
            "questions": len(questions),
            "samples": len(samples.rows),
            "kept": len(kept),
            "kept_cot": sum(1 for r in kept if r.mode == "cot"),
            "kept_code": sum(1 for r in kept if r.mode == "code"),
            "kept_self_debug": sum(1 for r in kept if r.self_debug),
            "questions_with_a_solution": len({r.qid for r in kept}),
            "removed": removed,
            "decontamination": {"ngram": cfg.ngram, "test_questions": test_counts},
            "requests_failed": len(failed),
            **backend.stats(),
        }
    if ledger is not None:
        ledger.finish(incomplete=[f["qid"] for f in failed])
    return report_stats(stats, cfg.stats_file(), "solution synthesis")


def samples_file(cfg: SynthesizeConfig) -> Path:
    return cfg.out_file().with_suffix(".samples.jsonl")


def filter_all(cfg: SynthesizeConfig, questions, samples: list[dict]):
    """(kept SolutionRows, counts removed per filter, test-set sizes used for decontamination)."""
    from mathforge.synthesize.filters import test_set_index
    from mathforge.synthesize.synth import filter_samples

    index, test_counts = test_set_index(cfg.data_dir, cfg.ngram) if cfg.decontaminate else (None, {})
    with cfg.make_grader() as grader:
        kept, removed = filter_samples(questions, samples, grader, cfg.min_agreement, index)
    return kept, removed, test_counts
