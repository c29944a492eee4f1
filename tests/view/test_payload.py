"""What the page is drawn from: flips and their test, summaries, segments, sources, bad input (no browser)."""

from __future__ import annotations

import base64
import gzip
import json
import re
from math import comb

import pytest

from mathforge.cli import main
from mathforge.io import DataError
from mathforge.rows import ExecutionRecord, PredictionRow, write_rows
from mathforge.view import build_payload, load_sources, render_html, write_view
from mathforge.view.compare import compare
from mathforge.view.payload import Problems, accuracy_interval, prompt_frame, segments

from .conftest import PAIR, prediction, write_run, write_train


def payload_of(html: str) -> dict:
    b64 = re.search(r'<script id="payload" type="application/gzip\+base64">([^<]*)</script>', html).group(1)
    return json.loads(gzip.decompress(base64.b64decode(b64)))


def test_flip_counts_and_the_exact_mcnemar_test(pair_runs):
    evals, _ = load_sources(list(pair_runs))
    problems = Problems()
    for r in evals[0].rows:
        problems.add(r, "")
    c = compare(evals[0], evals[1], problems.index)
    assert c["counts"] == {"fixed": 4, "broken": 2, "both_right": 5, "both_wrong": 3}
    assert c["shared"] == len(PAIR) and c["only_base"] == c["only_other"] == 0
    # two-sided exact McNemar: 2 * P(X <= 2) for X ~ Binomial(6, 1/2)
    assert c["p_value"] == pytest.approx(2 * sum(comb(6, k) for k in range(3)) / 2**6)
    assert c["accuracy"] == pytest.approx([7 / 14, 9 / 14])
    low, high = c["interval"]
    assert low < c["difference"] < high
    assert [len(c["flips"][k]) for k in ("fixed", "broken")] == [4, 2]
    assert sum(g["fixed"] for g in c["subjects"]) == 4 and sum(g["broken"] for g in c["subjects"]) == 2


def test_only_shared_problems_are_paired(tmp_path):
    a = write_run(tmp_path / "a", [prediction(i, True) for i in range(10)])
    b = write_run(tmp_path / "b", [prediction(i, i < 3) for i in range(5, 15)])
    payload = build_payload(*load_sources([a, b]), title="t")
    c = payload["comparisons"][0]
    assert (c["shared"], c["only_base"], c["only_other"]) == (5, 5, 5)
    assert c["counts"] == {"fixed": 0, "broken": 5, "both_right": 0, "both_wrong": 0}
    assert len(payload["problems"]) == 15  # each problem stored once across both runs


def test_summary_agrees_with_evaluate_metrics(mixed_run):
    from mathforge.evaluate.metrics import summarize

    (run,), _ = load_sources([mixed_run])
    sm = build_payload([run], [], "t")["runs"][0]["summary"]
    metrics = summarize(run.rows, lambda pairs: [x == y for x, y in pairs])
    assert sm["accuracy"] == pytest.approx(metrics["accuracy"]) == pytest.approx(18 / 30)
    assert sm["exec_status"] == metrics["executions"]["by_status"] == {"ok": 28, "timeout": 1, "error": 1}
    assert sm["executions_per_sample"] == pytest.approx(metrics["executions"]["per_sample"])
    groups = build_payload([run], [], "t")["runs"][0]["breakdowns"]
    assert {g["name"]: g["accuracy"] for g in groups["subject"]} == pytest.approx(
        {k: v["accuracy"] for k, v in metrics["by_subject"].items()}
    )
    assert [g["name"] for g in groups["level"]] == ["Level 1", "Level 2", "Level 3"]


def test_sampled_scores_come_from_metrics_json(tmp_path):
    rows = [prediction(i, s == 0, sample=s) for i in range(4) for s in range(3)]
    folder = write_run(tmp_path / "r", rows, metrics={"accuracy": 1 / 3, "maj@3": 0.0, "pass@3": 1.0})
    sm = build_payload(*load_sources([folder]), title="t")["runs"][0]["summary"]
    assert sm["n"] == 3 and sm["scores"] == {"maj@3": 0.0, "pass@3": 1.0}
    assert sm["interval_method"].startswith("normal interval over problems")


def test_wilson_interval():
    low, high, method = accuracy_interval([1.0] * 50 + [0.0] * 50, 50, 1)
    assert (round(low, 4), round(high, 4)) == (0.4038, 0.5962) and method.startswith("Wilson")
    low, high, _ = accuracy_interval([1.0] * 10, 10, 1)
    assert high == pytest.approx(1.0) and low == pytest.approx(0.7225, abs=1e-4)  # not zero-width at 100%


def test_prompt_frame_keeps_each_question_whole():
    prompts = [
        f"Examples...\nQ: 1+1 is 2.\n\nQuestion: What is {q}?\nAnswer:" for q in ("2+3", "4+5", "what")
    ]
    head, tail = prompt_frame(prompts)
    assert head == "Examples...\nQ: 1+1 is 2.\n\nQuestion: " and tail == "\nAnswer:"
    assert [p[len(head) : len(p) - len(tail)] for p in prompts] == [
        "What is 2+3?",
        "What is 4+5?",
        "What is what?",
    ]
    assert prompt_frame(["only one prompt"] * 3) == ("", "")


def _row(text, execs):
    return PredictionRow(id="x", gold="1", text=text, executions=[
        ExecutionRecord(code=c, output=o, status=s) for c, o, s in execs])  # fmt: skip


def test_segments_pair_programs_with_their_executions():
    from collections import Counter

    text = "Step one.\n```python\nprint(1)\n```\n```output\n1\n```\nThen:\n```python\nprint(2)\n```\nDone."
    row = _row(text, [("print(1)", "1", "ok"), ("print(2)", "2", "timeout")])
    segs = segments(row, "tora", 1000, Counter())
    assert segs == [["t", "Step one."], ["c", "print(1)", 0], ["o", "1", 0, 0], ["t", "Then:"],
                    ["c", "print(2)", 1], ["o", "2", 1, 1], ["t", "Done."]]  # fmt: skip
    # a program that was never run (the round limit) is marked so, with no output of its own
    segs = segments(_row("```python\nprint(3)\n```\n", []), "tora", 1000, Counter())
    assert segs == [["c", "print(3)", -1]]


def test_long_blocks_keep_head_and_tail_with_a_note(tmp_path):
    row = prediction(0, True)
    long = "\n".join(f"line {k}" for k in range(20_000))
    row.text = f"```python\nprint('line')\n```\n```output\n{long}\n```\n\\boxed{{7}}"
    folder = write_run(tmp_path / "r", [row, prediction(1, True)])
    payload = build_payload(*load_sources([folder]), title="t", max_chars=1000)
    out = payload["runs"][0]["problems"][0]["s"][0]["seg"][1]
    assert out[0] == "o" and len(out[1]) < 1200 and "characters not shown" in out[1]
    assert out[1].startswith("line 0\n") and out[1].endswith("line 19999")
    assert any("shortened" in n for n in payload["runs"][0]["notes"])


def test_finds_the_runs_of_a_demo_folder(tmp_path):
    write_run(tmp_path / "demo" / "eval" / "a", [prediction(i, True) for i in range(3)])
    write_run(tmp_path / "demo" / "eval" / "b", [prediction(i, False) for i in range(3)])
    write_train(tmp_path / "demo" / "train")
    (tmp_path / "demo" / "base").mkdir()
    evals, trains = load_sources([tmp_path / "demo"])
    assert [r.name for r in evals] == ["a", "b"] and [t.name for t in trains] == ["train"]
    assert [s["stage"] for s in trains[0].stages] == ["cot", "code"]  # in the order they finished


def test_train_payload_has_masked_fraction_and_throughput(tmp_path):
    payload = build_payload(*load_sources([write_train(tmp_path / "t")]), title="t")
    cot = payload["trains"][0]["stages"][0]
    assert cot["masked_fraction"] == pytest.approx(0.25) and cot["tokens_per_s"] == 1234.5
    assert len(cot["curve"]) == 10 and cot["curve"][0][0] == 10


def test_names_are_made_unique_by_their_folders(tmp_path):
    a = write_run(tmp_path / "x" / "run", [prediction(0, True)])
    b = write_run(tmp_path / "y" / "run", [prediction(0, False)])
    evals, _ = load_sources([a, b])
    assert [r.name for r in evals] == ["x/run", "y/run"]


def test_bad_input_names_file_line_and_field(tmp_path):
    with pytest.raises(DataError, match="no evaluate run"):
        load_sources([tmp_path])
    with pytest.raises(DataError, match="no such file"):
        load_sources([tmp_path / "missing"])
    folder = write_run(tmp_path / "r", [prediction(0, True), prediction(1, True)])
    lines = (folder / "predictions.jsonl").read_text().splitlines()
    bad = json.loads(lines[1])
    bad["correct"] = "perhaps"
    (folder / "predictions.jsonl").write_text(lines[0] + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(DataError) as err:
        load_sources([folder])
    assert (err.value.line, err.value.field) == (2, "correct") and "predictions.jsonl" in str(err.value)
    stage = tmp_path / "t" / "cot"
    stage.mkdir(parents=True)
    (stage / "train_summary.json").write_text(json.dumps({"loss_curve": [{"loss": 1.0}]}))
    with pytest.raises(DataError) as err:
        load_sources([tmp_path / "t"])
    assert err.value.field == "loss_curve[0].step"


def test_a_torn_last_line_is_skipped_with_a_note(tmp_path):
    folder = write_run(tmp_path / "r", [prediction(0, True), prediction(1, True)])
    with (folder / "predictions.jsonl").open("a") as fh:
        fh.write('{"id": "p0002", "gold": "9", "te')  # a writer killed mid-line
    (run,), _ = load_sources([folder])
    assert len(run.rows) == 2 and "incomplete" in run.notes[0]


def test_the_page_is_self_contained_and_round_trips_its_data(pair_runs, tmp_path):
    result = write_view(tmp_path / "out" / "page.html", list(pair_runs))
    html = result.out.read_text()
    assert payload_of(html)["comparisons"][0]["counts"]["fixed"] == 4
    # nothing is loaded from anywhere: no src= or href= but data: URLs, and a policy that forbids the rest
    assert re.findall(r'\b(?:src|href)="(?!data:)', html) == []
    assert "default-src 'none'" in html and "{{" not in html
    assert result.html_bytes == len(html.encode()) and result.json_bytes > 0
    assert render_html(payload_of(html)) == html  # the same data gives the same bytes


def test_the_title_is_escaped(pair_runs, tmp_path):
    html = write_view(tmp_path / "p.html", list(pair_runs), title="<script>alert(1)</script>").out.read_text()
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>" in html


def test_view_verb(pair_runs, tmp_path, capsys):
    out = tmp_path / "cmp.html"
    assert main(["view", str(pair_runs[0]), str(pair_runs[1]), "--out", str(out)]) == 0
    assert out.is_file() and f"wrote {out}" in capsys.readouterr().out
    assert main(["view", str(tmp_path / "nothing-here"), "--out", str(out)]) == 2  # a DataError, one line


def test_evaluate_writes_report_html_beside_report_md(tmp_path, scripted):
    from dataclasses import dataclass, field

    from mathforge.evaluate import EvaluateConfig, run

    @dataclass
    class Problem:
        id: str
        question: str
        gold: str
        dataset: str = "toy"
        split: str = "test"
        meta: dict = field(default_factory=dict)

    problems = [Problem("a", "What is 2 + 3?", "5"), Problem("b", "What is 1 + 1?", "3")]
    backend = scripted(lambda prompt, i: "Two numbers.\n\\boxed{5}")
    cfg = EvaluateConfig(out=str(tmp_path / "run"), mode="cot", sandbox_workers=1, grade_workers=1)
    run(cfg, backend=backend, problems=problems)
    page = payload_of((tmp_path / "run" / "report.html").read_text())
    assert (tmp_path / "run" / "report.md").is_file()
    assert page["runs"][0]["summary"]["accuracy"] == 0.5
    assert [p["id"] for p in page["problems"]] == ["a", "b"]


def test_a_page_that_cannot_be_drawn_does_not_fail_the_run(tmp_path, capsys):
    from mathforge.view import write_beside

    assert write_beside(tmp_path) is None  # nothing ran yet (a failed start): no page, no message
    assert capsys.readouterr().err == ""
    (tmp_path / "predictions.jsonl").write_text('{"id": "a", "gold": "1", "correct": "perhaps"}\n')
    assert write_beside(tmp_path) is None  # a bad row: reported, not raised
    err = capsys.readouterr().err
    assert "report.html not written" in err and "line 1" in err and "correct" in err


def test_a_suite_pairs_runs_by_dataset_and_tabulates_each_dataset(tmp_path):
    def run(name, dataset, right):
        rows = [prediction(i, i < right, dataset=dataset) for i in range(10)]
        for r in rows:
            r.id = f"{dataset}/{r.id}"
        return write_run(tmp_path / name, rows, model=name)

    paths = [
        run("a-gsm8k", "gsm8k", 5),
        run("a-math", "math", 2),
        run("b-gsm8k", "gsm8k", 8),
        run("b-math", "math", 1),
    ]
    payload = build_payload(*load_sources(paths), title="t")
    assert [(c["base"], c["other"]) for c in payload["comparisons"]] == [
        ("a-gsm8k", "b-gsm8k"),
        ("a-math", "b-math"),
    ]
    assert [c["counts"]["fixed"] for c in payload["comparisons"]] == [3, 0]
    cells = {(c["dataset"], c["run"]): c["accuracy"] for c in payload["suite"]}
    assert cells == {("gsm8k", "a-gsm8k"): 0.5, ("math", "a-math"): 0.2, ("gsm8k", "b-gsm8k"): 0.8,
                     ("math", "b-math"): 0.1}  # fmt: skip
    assert build_payload(*load_sources(paths[:1]), title="t")["suite"] == []  # one dataset: no suite


def test_a_grade_output_is_a_source_as_a_folder_and_as_its_graded_jsonl(pair_runs, tmp_path, capsys):
    """docs/VIEWER.md: `mathforge grade`'s output folder (graded.jsonl, metrics.json) opens like an evaluate run."""
    out = tmp_path / "regraded"
    assert (
        main(["grade", str(pair_runs[1] / "predictions.jsonl"), "--out", str(out), "--grade-workers", "1"])
        == 0
    )
    assert not (out / "predictions.jsonl").exists()  # only graded.jsonl: the source the viewer must find
    for source in (out, out / "graded.jsonl"):
        payload = build_payload(*load_sources([source]), title="t")
        (run,) = payload["runs"]
        assert run["name"] == "regraded" and run["summary"]["samples"] == len(PAIR)
        assert run["summary"]["accuracy"] == pytest.approx(9 / 14)  # run B's outcomes, graded again
        assert run["config"]["model"].endswith(
            "predictions.jsonl"
        )  # grade writes its config into metrics.json
    page = tmp_path / "cmp.html"
    assert main(["view", str(pair_runs[0]), str(out), "--out", str(page)]) == 0  # compared with the original
    assert payload_of(page.read_text())["comparisons"][0]["counts"] == {"fixed": 4, "broken": 2, "both_right": 5,
                                                                        "both_wrong": 3}  # fmt: skip


def test_bare_predictions_files_are_named_by_their_file_not_their_folder(tmp_path):
    """Two graded files in one folder are two runs: named a and b (the comparison finds runs by name), and
    neither takes the metrics.json of the run that owns the folder."""
    folder = write_run(tmp_path / "runs", [prediction(i, True) for i in range(3)],
                       metrics={"accuracy": 1.0, "maj@8": 1.0, "partial": "1 sample failed"})  # fmt: skip
    write_rows(folder / "a.jsonl", [prediction(i, x) for i, (x, _) in enumerate(PAIR)])
    write_rows(folder / "b.jsonl", [prediction(i, y) for i, (_, y) in enumerate(PAIR)])
    payload = build_payload(*load_sources([folder / "a.jsonl", folder / "b.jsonl"]), title="t")
    assert [r["name"] for r in payload["runs"]] == ["a", "b"]
    assert all(r["summary"]["scores"] == {} and r["notes"] == [] for r in payload["runs"])
    c = payload["comparisons"][0]
    assert (c["base"], c["other"]) == ("a", "b") and c["counts"]["fixed"] == 4
    # the same file name in two folders: told apart by the folder
    write_rows(tmp_path / "a.jsonl", [prediction(0, True)])
    evals, _ = load_sources([folder / "a.jsonl", tmp_path / "a.jsonl"])
    assert [r.name for r in evals] == ["runs/a.jsonl", f"{tmp_path.name}/a.jsonl"]
    assert load_sources([folder])[0][0].name == "runs"  # the folder itself is still its own run


def test_an_ungraded_predictions_file_says_to_grade_it_first(tmp_path):
    """A foreign file (``output``, no verdict) would draw as 0% with empty transcripts; it is an error instead."""
    file = tmp_path / "theirs.jsonl"
    file.write_text("".join(json.dumps({"id": f"q{i}", "gold": str(i), "output": f"\\boxed{{{i}}}"}) + "\n"
                            for i in range(3)))  # fmt: skip
    with pytest.raises(DataError, match="not graded: run `mathforge grade") as err:
        load_sources([file])
    assert (err.value.line, err.value.field) == (1, "correct")
    assert main(["view", str(file), "--out", str(tmp_path / "x.html")]) == 2


def _large_run_lines(problems: int, n: int, seed: int = 0):
    """Evaluate rows as JSON lines: four worked examples in every prompt, numbers drawn per sample (so gzip
    cannot fold the samples of a problem together), one sample in a thousand printing 100,000 characters."""
    import random

    rng = random.Random(seed)
    shots = "".join(f"Question: what is {k} * 17?\nSolution:\n```python\nprint({k} * 17)\n```\n```output\n"
                    f"{k * 17}\n```\nThe answer is \\boxed{{{k * 17}}}.\n\n" for k in range(4))  # fmt: skip
    for i in range(problems):
        a, b = rng.randint(100, 99999), rng.randint(100, 99999)
        for s in range(n):
            c, right = rng.randint(1, 99999), rng.random() < 0.7
            output = rng.randbytes(50_000).hex() if i % 125 == 0 and s == 0 else str(a * c + b)
            code = f"x = {a} * {c} + {b}\nprint(x)"
            yield json.dumps({
                "id": f"q{i:05d}", "sample": s, "gold": str(a * c + b), "dataset": "toy",
                "prompt": f"Solve with Python.\n\n{shots}Question: what is {a} times a number plus {b}?\nSolution:\n",
                "text": f"Let x be {a} * {c} + {b} (sample {s}, {rng.random():.6f}).\n```python\n{code}\n```\n"
                        f"```output\n{output}\n```\nThe answer is \\boxed{{{a * c + b if right else c}}}.",
                "executions": [{"code": code, "output": output, "status": "ok", "duration": rng.random()}],
                "rounds": 1, "tokens": 60, "finish": "stop", "answer": str(a * c + b if right else c),
                "correct": right, "grade_status": "ok",
            })  # fmt: skip


def test_the_page_of_a_10000_sample_run_stays_small(tmp_path):
    """#16 "keep the file size in check": 1,250 problems x 8 samples, 14 MB of predictions (the runaway
    prints alone are 1 MB): the page is under 1 MiB (665 KiB measured; most of it the drawn numbers, which
    do not compress) and under a tenth of the predictions file."""
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "predictions.jsonl").write_text("\n".join(_large_run_lines(1250, 8)) + "\n")
    result = write_view(tmp_path / "big.html", [folder])
    source = (folder / "predictions.jsonl").stat().st_size
    assert source > 12 * 2**20
    assert result.html_bytes < 2**20 and result.html_bytes < source / 10, (result.html_bytes, source)
    # before compression too: the prompts' worked examples are stored once, a program's code and output once
    # (the transcript's own blocks), and the ten runaway outputs are cut to --max-chars
    assert result.json_bytes < source / 3
    payload = payload_of(result.out.read_text())
    assert payload["runs"][0]["summary"]["samples"] == 10_000
    assert any("10 long blocks shortened" in note for note in payload["runs"][0]["notes"])
