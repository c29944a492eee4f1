"""``mathforge data show`` on hostile input (#12.9f): a huge field is cut in the table, not drawn whole."""

from __future__ import annotations

import json
import re

from mathforge.cli import main
from mathforge.data.inspect import MAX_CELL


def test_data_show_cuts_a_20_mb_field_and_its_output_stays_small(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")  # rich draws for this width when stdout is not a terminal
    huge = "7" * 20_000_000
    rows = [
        {"id": "big", "question": f"What is {huge}?", "gold": "1"},
        {"id": "small", "question": "1+1?", "gold": "2"},
    ]
    path = tmp_path / "huge.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["data", "show", str(path), "--limit", "2"]) == 0
    out = capsys.readouterr().out
    # the table holds MAX_CELL characters of the field (folded over lines) plus the frame, not 20 MB
    assert out.count("7") < MAX_CELL + 200 and len(out) < 20 * MAX_CELL, len(out)
    question = f"What is {huge}?"
    flat = re.sub(r"[│\s]+", " ", out)  # the cell folded over lines, frame and padding removed
    assert f"... [{len(question) - MAX_CELL} more characters]" in flat
    assert "small" in out and "1+1?" in out  # the next row is drawn as usual
    # --jsonl is for machines: the field is printed whole there
    assert main(["data", "show", str(path), "--limit", "1", "--jsonl"]) == 0
    assert len(json.loads(capsys.readouterr().out)["question"]) == len(question)
