"""#12.9: every verb ends bad input with one clear line (file, line, field) and a non-zero exit, never a
traceback; a full disk is one line too."""

from __future__ import annotations

import errno
import json

import pytest

from mathforge.cli import main


@pytest.fixture
def files(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "latin1.jsonl").write_bytes(
        b'{"question": "ok", "gold": "1"}\n{"question": "caf\xe9", "gold": "2"}\n'
    )
    (tmp_path / "typed.jsonl").write_text(
        json.dumps({"question": ["not", "text"], "answer": "#### 3"}) + "\n"
    )
    (tmp_path / "preds.jsonl").write_text(json.dumps({"id": "a", "gold": [1], "pred": "1"}) + "\n")
    (tmp_path / "recipe.yaml").write_text("a: &a [1, 2]\nsteps: [{evaluate: {dataset: *a}}]\n")
    (tmp_path / "train.yaml").write_text(
        f"output_dir: {tmp_path}/o\nbase_model: m\nstages: [{{data: [{tmp_path}/none.jsonl]}}]\n"
    )
    return tmp_path


CASES = {
    "empty dataset": (["evaluate", "--model", "{t}/m", "--dataset", "{t}/empty.jsonl"], "no problems"),
    "not utf-8": (["evaluate", "--model", "{t}/m", "--dataset", "{t}/latin1.jsonl"], "line 2: not UTF-8"),
    "missing model": (
        ["evaluate", "--model", "{t}/runs/missing/model", "--dataset", "{t}/latin1.jsonl", "--limit", "1"],
        "model does not exist",
    ),  # fmt: skip
    "wrong-typed field": (
        ["augment", "audit", "--dataset", "{t}/typed.jsonl", "--out", "{t}/a.jsonl"],
        "field 'question'",
    ),
    "empty questions": (
        ["synthesize", "--dataset", "{t}/empty.jsonl", "--model", "m", "--out", "{t}/s.jsonl"],
        "no questions",
    ),
    "missing stage data": (["train", "--config", "{t}/train.yaml"], "file not found"),
    "no tokenizer text": (["init-model", "--out", "{t}/tok", "--data", "{t}/empty.jsonl"], "no text"),
    "bad prediction row": (["grade", "{t}/preds.jsonl", "--out", "{t}/g"], "line 1, field 'gold'"),
    "empty predictions": (["grade", "{t}/empty.jsonl", "--out", "{t}/g"], "empty"),
    "alias bomb": (["run", "{t}/recipe.yaml", "--dry-run"], "aliases"),
    "unknown dataset": (["data", "show", "no_such_set"], "unknown dataset"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_and_exit_2(files, capsys, case):
    argv, message = CASES[case]
    rc = main([a.format(t=files) for a in argv])
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert message in err and "Traceback" not in err
    assert len(err.splitlines()) == 1, err


def test_a_full_disk_is_one_line_and_exit_1(files, capsys, monkeypatch):
    from mathforge import io

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(files / "a.jsonl"))

    monkeypatch.setattr(io, "write_jsonl", full)
    monkeypatch.setattr("mathforge.augment.stages.write_jsonl", full)
    (files / "g.jsonl").write_text(
        json.dumps({"question": "q", "answer": "1 + 1 = <<1+1=2>>2\n#### 2"}) + "\n"
    )
    assert (
        main(["augment", "audit", "--dataset", str(files / "g.jsonl"), "--out", str(files / "a.jsonl")]) == 1
    )
    err = capsys.readouterr().err.strip()
    assert "no space left" in err and len(err.splitlines()) == 1
