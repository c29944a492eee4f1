"""The demo's model runs and their scheduling order (what may train in parallel, what must wait)."""

from __future__ import annotations

from mathforge.demo import QUICK
from mathforge.demo.pipeline import Demo


def test_two_stage_runs_wait_for_the_cot_run_and_nothing_else(tmp_path):
    demo = Demo(tmp_path, QUICK)
    runs = demo.runs()
    keys = [r.key for r in runs]
    assert keys[:3] == ["a", "c", "b"]  # the headline pair first
    deps = {r.key: Demo.depends_on(r, runs) for r in runs}
    assert deps["a"] == [] and deps["b"] == []  # CoT and code-from-scratch can train side by side
    assert all(deps[k] == ["a"] for k in keys if k.startswith("c"))  # stage 1 of (c) is model (a)


def test_a_job_is_plain_data_that_continues_the_cot_checkpoint(tmp_path):
    demo = Demo(tmp_path, QUICK)
    run = next(r for r in demo.runs() if r.key == "c")
    job = demo.job(run)
    names = [s["name"] for s in job["recipe"]["stages"]]
    assert names == ["cot", f"code-after-cot-x{max(QUICK.aug_copies)}"]
    assert job["recipe"]["base_model"] == str(tmp_path / "base")
    assert job["evaluate"]["mode"] == "tir" and job["evaluate"]["model"].endswith(names[-1])
    assert job["log"] != job["progress"] and job["log"].startswith(str(tmp_path / "logs"))


def test_the_cot_stage_rehearses_copy_rows_only_when_there_is_a_copy_base(tmp_path):
    from dataclasses import replace

    cot = next(r for r in Demo(tmp_path, QUICK).runs() if r.key == "a").stages[0]
    assert cot["data"] == [str(tmp_path / "data" / "cot.jsonl"), str(tmp_path / "data" / "copy-replay.jsonl")]
    code = next(r for r in Demo(tmp_path, QUICK).runs() if r.key == "b").stages[0]
    assert code["data"] == [str(tmp_path / "data" / f"code_x{max(QUICK.aug_copies)}.jsonl")]  # no rehearsal
    for off in (replace(QUICK, steps_copy=0), replace(QUICK, n_replay=0)):
        assert next(r for r in Demo(tmp_path, off).runs() if r.key == "a").stages[0]["data"] == [
            str(tmp_path / "data" / "cot.jsonl")
        ]


def test_the_mario_job_waits_for_model_c_only(tmp_path):
    demo = Demo(tmp_path, QUICK)
    job = demo.mario_job()
    assert job["evaluate"] is None and job["mario"]["out"] == str(tmp_path)
    assert Demo.depends_on(demo.mario_run(), demo.runs()) == ["c"]
    assert not demo.mario_done()


def test_the_held_out_check_compares_the_first_program_and_uses_training_problems_only():
    from mathforge.demo import code_solution, program
    from mathforge.demo.tasks import TEST_RANGE, check_problems
    from mathforge.demo.workers import _program_of

    problems = check_problems(0, 20)
    assert all(
        not (TEST_RANGE[0] <= n <= TEST_RANGE[1]) for p in problems for s, n in p.steps if s.kind != "mul"
    )
    p = problems[0]
    assert _program_of(code_solution(p)) == program(p)
    assert _program_of("no code here") is None and _program_of("```python\nx=1") is None
