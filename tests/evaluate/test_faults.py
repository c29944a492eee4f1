"""#12.4: one failed request over HTTP fails its own sample only; the run finishes the others, records which
failed, exits non-zero, and a re-run retries only them. Through the CLI against a fault-injecting server."""

from __future__ import annotations

import json
import re

import pytest

from mathforge.cli import main

PROBLEMS = [{"id": f"p{i}", "question": f"What is {i} + {i}?", "gold": str(2 * i)} for i in range(6)]


def _answer(body) -> str:
    a, b = re.search(r"What is (\d+) \+ (\d+)\?", str(body.get("prompt") or body.get("messages"))).groups()
    return f"So the answer is \\boxed{{{int(a) + int(b)}}}."


def _lines(path):
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


@pytest.mark.parametrize(
    "fault", ["status:503", "status:400", "html", "truncated", "empty_choices", "content_number"]
)
def test_a_failing_sample_does_not_stop_the_run_and_a_rerun_retries_only_it(
    fault_server, tmp_path, fault, capsys
):
    data = tmp_path / "p.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in PROBLEMS))
    out = tmp_path / "eval"
    broken = {"on": True}

    def fault_for(body):
        return fault if broken["on"] and "What is 3 + 3" in str(body.get("prompt")) else None

    argv = ["evaluate", "--dataset", str(data), "--out", str(out), "--mode", "cot", "--max-retries", "1",
            "--grade-workers", "1", "--concurrency", "3"]  # fmt: skip
    with fault_server(fault_for, _answer) as srv:
        assert main([*argv, "--base-url", srv.url, "--model", "m"]) == 1
        rows = _lines(out / "predictions.jsonl")
        assert sorted(r["id"] for r in rows) == ["p0", "p1", "p2", "p4", "p5"] and all(
            r["correct"] for r in rows
        )
        (failed,) = _lines(out / "failed.jsonl")
        assert failed["id"] == "p3" and "attempt" in failed["error"]
        metrics = json.loads((out / "metrics.json").read_text())
        assert (
            metrics["failed"]["samples"] == 1 and "failed" in metrics["partial"] and metrics["samples"] == 5
        )
        assert "p3" in capsys.readouterr().out
        sent = len(srv.requests)
        broken["on"] = False  # the server recovers; the same command again
        assert main([*argv, "--base-url", srv.url, "--model", "m"]) == 0
        assert len(srv.requests) == sent + 1  # only the failed sample was asked again
    rows = _lines(out / "predictions.jsonl")
    assert sorted(r["id"] for r in rows) == [p["id"] for p in PROBLEMS]  # nothing twice
    assert (
        _lines(out / "failed.jsonl") == []
        and json.loads((out / "metrics.json").read_text())["accuracy"] == 1.0
    )


def test_synthesis_records_failed_requests_and_retries_them(fault_server, tmp_path):
    data = tmp_path / "q.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in PROBLEMS))
    out = tmp_path / "s.jsonl"
    broken = {"on": True}

    def fault_for(body):
        return "status:503" if broken["on"] and "What is 2 + 2" in json.dumps(body) else None

    argv = ["synthesize", "--dataset", str(data), "--k-cot", "2", "--k-code", "0", "--no-decontaminate",
            "--max-retries", "0", "--out", str(out), "--cache", str(tmp_path / "c.sqlite"), "--grade-workers", "1"]  # fmt: skip
    with fault_server(fault_for, _answer) as srv:
        assert main([*argv, "--base-url", srv.url, "--model", "m"]) == 1
        stats = json.loads(out.with_suffix(".stats.json").read_text())
        assert stats["requests_failed"] == 1 and stats["questions_with_a_solution"] == 5
        assert [f["qid"] for f in _lines(out.with_suffix(".failed.jsonl"))] == ["p2"]
        broken["on"] = False
        assert main([*argv, "--base-url", srv.url, "--model", "m"]) == 0
    stats = json.loads(out.with_suffix(".stats.json").read_text())
    assert stats["requests_failed"] == 0 and stats["questions_with_a_solution"] == 6
    # only p2 was asked for again (one request for its 2 samples); the others were in the samples log already
    assert stats["requests_sent"] == 1 and stats["requests_cached"] == 0


def test_a_program_printing_a_lone_surrogate_is_recorded_and_counted(
    tmp_path, arithmetic_backend, toy_problems
):
    """#12.1 end to end: the sample is written (valid text), the report counts it, and a resume reads it back."""
    from dataclasses import replace

    from mathforge.evaluate import EvaluateConfig, run

    problems = [replace(toy_problems[0], id="s", question="What is chr(56575)?", gold="x"), toy_problems[1]]
    cfg = EvaluateConfig(out=str(tmp_path), sandbox_workers=1, grade_workers=1)
    m = run(cfg, backend=arithmetic_backend, problems=problems)
    rows = {r["id"]: r for r in _lines(tmp_path / "predictions.jsonl")}
    assert rows["s"]["executions"][0]["output"] == "\ufffd" and rows["s"]["executions"][0]["replaced"] == 1
    assert m["executions"]["invalid_text_outputs"] == 1 and m["samples"] == 2
    assert "1 printed text that is not valid Unicode" in (tmp_path / "report.md").read_text()
    assert run(cfg, backend=arithmetic_backend, problems=problems)["samples"] == 2  # the resume reads it back
