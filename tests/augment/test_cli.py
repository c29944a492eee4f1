"""`mathforge augment code|audit|perturb` on the mini fixture: outputs, stats, resume."""

from __future__ import annotations

import json

from mathforge.cli import main


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_code_verb_writes_rows_rejects_stats_and_resumes(mini_gsm8k_path, tmp_path):
    out = tmp_path / "code.jsonl"
    argv = ["augment", "code", "--dataset", str(mini_gsm8k_path), "--out", str(out), "--sandbox-workers", "1"]
    assert main(argv) == 0
    rows, rejects = _rows(out), _rows(tmp_path / "code.rejects.jsonl")
    assert len(rows) == 5 and len(rejects) == 3
    stats = json.loads((tmp_path / "code.stats.json").read_text())
    assert stats["converted"] == 5 and stats["total"] == 8 and sum(stats["rejected"].values()) == 3
    assert main(argv) == 0  # a re-run resumes: nothing is redone or duplicated
    assert len(_rows(out)) == 5 and len(_rows(tmp_path / "code.rejects.jsonl")) == 3
    import datasets

    ds = datasets.load_dataset("json", data_files=str(out), split="train")
    assert set(ds.column_names) >= {"id", "source_id", "method", "question", "solution", "gold"}


def test_audit_verb(mini_gsm8k_path, tmp_path):
    out = tmp_path / "audit.jsonl"
    assert main(["augment", "audit", "--dataset", str(mini_gsm8k_path), "--out", str(out)]) == 0
    flagged = {r["id"] for r in _rows(out)}
    assert flagged == {"gsm8k/train/4", "gsm8k/train/6"}


def test_perturb_verb_resumes_after_partial_output(mini_gsm8k_path, tmp_path):
    out = tmp_path / "p.jsonl"
    argv = ["augment", "perturb", "--dataset", str(mini_gsm8k_path), "--out", str(out), "--n", "2"]
    assert main(argv) == 0
    full = _rows(out)
    stats = json.loads((tmp_path / "p.stats.json").read_text())
    assert stats["variants"] == len(full) and stats["sources"] == 8
    # simulate a crash after the first source: drop the later rows and the later source marks
    sources = (tmp_path / "p.sources.jsonl").read_text().splitlines(keepends=True)
    first = json.loads(sources[0])["source_id"]
    out.write_text("".join(json.dumps(r) + "\n" for r in full if r["source_id"] == first))
    (tmp_path / "p.sources.jsonl").write_text(sources[0])
    assert main(argv) == 0
    assert _rows(out) == full  # same rows, same order: seeded and resumable


def test_code_verb_reads_gsm8k_from_the_data_folder(data_dir, tmp_path):
    """The default dataset name resolves in --data-dir (it once fell through to the hub)."""
    out = tmp_path / "code.jsonl"
    argv = [
        "augment",
        "code",
        "--data-dir",
        str(data_dir),
        "--limit",
        "5",
        "--out",
        str(out),
        "--sandbox-workers",
        "1",
    ]
    assert main(argv) == 0
    assert {r["source_id"] for r in _rows(out)} <= {f"gsm8k/train/{i}" for i in range(5)}
