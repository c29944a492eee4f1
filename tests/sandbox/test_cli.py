"""`mathforge sandbox run` and `mathforge sandbox doctor`."""

from __future__ import annotations

import io
import sys

from mathforge.cli import main


def test_run_file_prints_output_and_status(tmp_path, capsys):
    script = tmp_path / "cell.py"
    script.write_text("from fractions import Fraction\nprint(Fraction(1, 3) + Fraction(1, 6))\n")
    assert main(["sandbox", "run", str(script)]) == 0
    out = capsys.readouterr()
    assert out.out == "1/2\n"
    assert "status=ok" in out.err


def test_run_stdin_with_render_reports_failure(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("print('partial')\n1 / 0\n"))
    assert main(["sandbox", "run", "-", "--render"]) == 1
    out = capsys.readouterr()
    assert out.out == "ZeroDivisionError: division by zero\n"
    assert "status=error" in out.err


def test_doctor_reports_and_probes(capsys):
    code = main(["sandbox", "doctor"])
    out = capsys.readouterr().out
    for name in ("process_group", "temp_dir", "rlimits", "attack probes", "write outside temp dir"):
        assert name in out
    limits = out[out.index("per-child limits") :]
    for row in ("memory", "disk", "files", "processes", "CPU", "output", "sessions"):
        assert f"│ {row} " in limits  # one row per limit (value and mechanism: the test below)
    assert code == 0, out  # every probe contained on this machine


def test_doctor_limits_name_the_fallback_when_a_layer_is_missing():
    from mathforge.sandbox import Sandbox
    from mathforge.sandbox.doctor import limits

    with Sandbox(workers=1, light_workers=0, preload=("math",), max_sessions=7) as sb:
        full = {"seccomp": (True, ""), "tmpfs": (True, "")}
        rows = {name: (value, how) for name, value, how in limits(full, sb)}
        assert rows["disk"] == ("64 MiB in all", "tmpfs (size)")
        assert rows["processes"][0] == "none (no fork/exec)"
        assert rows["sessions"][0].startswith("7 live")
        bare = {name: (value, how) for name, value, how in limits({}, sb)}
        assert bare["disk"] == ("16 MiB per file, no total", "rlimit (FSIZE) only")
        assert "NOT bounded" in bare["memory"][1]
        assert bare["processes"] == ("32 per child uid", "rlimit (NPROC)")
