"""The tool-integrated loop with a scripted backend and the real sandbox: every edge case, both drivers."""

from __future__ import annotations

import pytest

from mathforge.infer import MAX_CALLS_NOTE, has_boxed_answer, run_tir
from mathforge.llm import GenParams
from mathforge.solution import Code, Output, parse

CODE = "```python\n{}\n```\n```output"


@pytest.fixture(params=["batched", "async"])
def driver(request):
    return request.param


def run(scripted, problem, sandbox, driver, script, **kw):
    backend = scripted(script, concurrent=driver == "async")
    problems = [problem(f"p{i}", q) for i, q in enumerate(script)]
    trajs = run_tir(
        backend, problems, sandbox=sandbox, params=kw.pop("params", GenParams(max_tokens=64)), **kw
    )
    return trajs, backend


def test_two_rounds_with_state_kept_across_rounds(scripted, problem, sandbox, driver):
    script = {
        "What is 6*7+1?": [
            "Multiply first.\n" + CODE.format("x = 6 * 7\nprint(x)"),
            "Now add one.\n" + CODE.format("print(x + 1)"),  # x comes from the first round's session
            "So the answer is \\boxed{43}.",
        ]
    }
    (t,), backend = run(scripted, problem, sandbox, driver, script)
    assert t.text == (
        "Multiply first.\n```python\nx = 6 * 7\nprint(x)\n```\n```output\n42\n```\n"
        "Now add one.\n```python\nprint(x + 1)\n```\n```output\n43\n```\n"
        "So the answer is \\boxed{43}."
    )
    assert [(e.code, e.output, e.status) for e in t.executions] == [
        ("x = 6 * 7\nprint(x)", "42", "ok"),
        ("print(x + 1)", "43", "ok"),
    ]
    assert (t.rounds, t.finish, t.answer) == (3, "answer", "43")
    assert t.tokens == sum(
        max(1, len(c) // 4)
        for c in [
            "Multiply first.\n" + CODE.format("x = 6 * 7\nprint(x)"),
            "Now add one.\n" + CODE.format("print(x + 1)"),
            "So the answer is \\boxed{43}.",
        ]
    )
    # the transcript parses back into the segments it was built from
    assert [type(s).__name__ for s in parse(t.text)] == [
        "Text",
        "Code",
        "Output",
        "Text",
        "Code",
        "Output",
        "Text",
    ]
    # every call asked to pause at the output fence
    assert all("```output" in p.stop for _, p in backend.calls)


def test_trailing_code_block_at_eos_is_executed(scripted, problem, sandbox, driver):
    script = {"2+2?": ["```python\nprint(2 + 2)\n```", "\\boxed{4}"]}  # EOS right after the fence
    (t,), _ = run(scripted, problem, sandbox, driver, script)
    assert t.text == "```python\nprint(2 + 2)\n```\n```output\n4\n```\n\\boxed{4}"
    assert len(t.executions) == 1 and t.answer == "4" and t.finish == "answer"


def test_max_rounds_appends_the_limit_note(scripted, problem, sandbox, driver):
    script = {"loop?": ["Again.\n" + CODE.format("print(1)")]}  # the model never stops asking
    (t,), backend = run(scripted, problem, sandbox, driver, script, max_rounds=2)
    assert len(t.executions) == 2
    assert t.rounds == 3 and t.finish == "max_rounds"
    assert t.text.endswith("```output\n" + MAX_CALLS_NOTE + "\n```\n")
    assert isinstance(parse(t.text)[-1], Output) and parse(t.text)[-1].output == MAX_CALLS_NOTE
    assert len(backend.calls) == 3


def test_execution_error_is_shown_and_the_model_goes_on(scripted, problem, sandbox, driver):
    script = {"div?": [CODE.format("print(1 / 0)"), "Oops.\n" + CODE.format("print(1 / 1)"), "\\boxed{1}"]}
    (t,), _ = run(scripted, problem, sandbox, driver, script)
    assert [(e.status, e.output) for e in t.executions] == [
        ("error", "ZeroDivisionError: division by zero"),
        ("ok", "1.0"),
    ]
    assert "```output\nZeroDivisionError: division by zero\n```\n" in t.text
    assert t.answer == "1" and t.finish == "answer"


def test_no_answer(scripted, problem, sandbox, driver):
    (t,), _ = run(scripted, problem, sandbox, driver, {"hard?": ["I do not know how to solve this."]})
    assert (t.finish, t.answer, t.executions, t.rounds) == ("eos", None, [], 1)


def test_the_word_boxed_alone_is_not_an_answer(scripted, problem, sandbox, driver):
    script = {"w?": ["I will give a boxed answer later.\n" + CODE.format("print(5)"), "\\boxed{5}"]}
    (t,), _ = run(scripted, problem, sandbox, driver, script)
    assert len(t.executions) == 1 and t.answer == "5"


def test_boxed_inside_code_is_not_an_answer(scripted, problem, sandbox, driver):
    script = {"c?": [CODE.format("s = '\\\\boxed{9}'\nprint(len(s))"), "Length is \\boxed{9}"]}
    (t,), _ = run(scripted, problem, sandbox, driver, script)
    assert [e.output for e in t.executions] == ["9"] and t.rounds == 2


def test_answer_stops_the_loop_even_before_a_trailing_program(scripted, problem, sandbox, driver):
    script = {"a?": ["It is \\boxed{3}. Check:\n" + CODE.format("print(3)")]}
    (t,), _ = run(scripted, problem, sandbox, driver, script)
    assert t.finish == "answer" and t.executions == [] and t.answer == "3"
    assert t.text == "It is \\boxed{3}. Check:\n"  # what came after the answer's line is cut


@pytest.mark.parametrize("mode", ["tir", "cot"])
def test_the_transcript_ends_at_the_answer(scripted, problem, sandbox, driver, mode):
    """An instruct model often goes on after its answer (another program, a second guess): cut there."""
    script = {
        "e?": [CODE.format("print(7)"), "So the answer is \\boxed{7}.\nWait, let me also try\n\\boxed{8}"]
    }
    if mode == "cot":
        script = {"e?": ["7 it is: \\boxed{7}.\n```python\nprint(8)\n```\nor \\boxed{8}"]}
    (t,), _ = run(scripted, problem, sandbox, driver, script, mode=mode)
    assert t.answer == "7" and t.finish == "answer" and t.text.endswith("\\boxed{7}.\n")


def test_length_and_stray_output_fence(scripted, problem, sandbox, driver):
    script = {"long?": ["LENGTH:Let me think about this for a very long"], "stray?": ["Result:\n```output"]}
    t_long, t_stray = run(scripted, problem, sandbox, driver, script)[0]
    assert t_long.finish == "length" and t_long.tokens == 7
    assert t_stray.finish == "no_code" and t_stray.executions == []


def test_cot_runs_nothing(scripted, problem, sandbox, driver):
    script = {"cot?": ["Think.\n```python\nprint(1)\n```\n```output\n1\n```\nSo \\boxed{1}"]}
    (t,), backend = run(scripted, problem, sandbox, driver, script, mode="cot")
    assert t.executions == [] and t.rounds == 1 and t.answer == "1"
    assert all("```output" not in p.stop for _, p in backend.calls)


def test_pot_output_is_the_answer(scripted, problem, sandbox, driver):
    script = {
        "pot?": ["```python\ndef solution():\n    return 6 * 7\nprint(solution())\n```\n```output"],
        "bad?": [CODE.format("print(undefined_name)")],
    }
    t_ok, t_bad = run(scripted, problem, sandbox, driver, script, mode="pot")[0]
    assert (t_ok.answer, t_ok.finish, len(t_ok.executions)) == ("42", "program", 1)
    assert t_bad.answer is None and t_bad.executions[0].status == "error"


def test_mario_format(scripted, problem, sandbox, driver):
    script = {
        "m?": [
            "<p>\nCompute.\n</p>\n<code>\nprint(3 * 3)\nprint(1)\n</code>\nOutput: ",
            "<p>\nSo $\\boxed{9}$.\n</p>",
        ]
    }
    (t,), _ = run(scripted, problem, sandbox, driver, script, fmt="mario")
    assert "</code>\nOutput: 9\\n1\n<p>" in t.text
    assert t.answer == "9"
    assert [s for s in parse(t.text, "mario") if isinstance(s, Code)] == [Code("print(3 * 3)\nprint(1)")]


def test_n_samples_skip_and_on_done(scripted, problem, sandbox, driver):
    backend = scripted({"q?": ["\\boxed{1}"], "r?": ["\\boxed{2}"]}, concurrent=driver == "async")
    done = []
    trajs = run_tir(
        backend,
        [problem("a", "q?"), problem("b", "r?")],
        n=3,
        sandbox=sandbox,
        skip={("a", 1), ("b", 0)},
        on_done=lambda t: done.append((t.problem_id, t.sample)),
    )
    assert [(t.problem_id, t.sample) for t in trajs] == [("a", 0), ("a", 2), ("b", 1), ("b", 2)]
    assert sorted(done) == [("a", 0), ("a", 2), ("b", 1), ("b", 2)]
    assert [t.answer for t in trajs] == ["1", "1", "2", "2"]


def test_batched_driver_generates_each_round_in_one_call(scripted, problem, sandbox):
    script = {f"q{i}?": [CODE.format(f"print({i})"), f"\\boxed{{{i}}}"] for i in range(5)}
    trajs, backend = run(scripted, problem, sandbox, "batched", script)
    assert backend.batches == [5, 5]
    assert [t.answer for t in trajs] == [str(i) for i in range(5)]


def test_batched_driver_refills_the_batch(scripted, problem, sandbox):
    script = {
        "long?": [CODE.format("print(1)"), CODE.format("print(2)"), "\\boxed{2}"],
        "s1?": ["\\boxed{1}"],
        "s2?": ["\\boxed{1}"],
    }
    _, backend = run(scripted, problem, sandbox, "batched", script, batch_size=2)
    assert backend.batches == [2, 2, 1]  # s2 joined as soon as s1 was done


def test_async_driver_a_running_program_does_not_hold_other_samples(scripted, problem, sandbox):
    script = {
        "slow?": [CODE.format("import time\ntime.sleep(1.5)\nprint(1)"), "\\boxed{1}"],
        "fast?": [CODE.format("print(2)"), "\\boxed{2}"],
    }
    backend = scripted(script, concurrent=True, delay={"fast?": 0.2})
    order = []
    run_tir(
        backend,
        [problem("slow", "slow?"), problem("fast", "fast?")],
        sandbox=sandbox,
        on_done=lambda t: order.append(t.problem_id),
    )
    # "fast" started later and did two rounds while "slow"'s program was still running
    assert order == ["fast", "slow"]


def test_seeds_differ_per_sample_and_round_for_http(scripted, problem, sandbox):
    script = {"q?": [CODE.format("print(1)"), "\\boxed{1}"]}
    backend = scripted(script, concurrent=True)
    run_tir(backend, [problem("a", "q?")], n=2, sandbox=sandbox, params=GenParams(seed=5, temperature=1.0))
    seeds = [p.seed for _, p in backend.calls]
    assert len(seeds) == 4 and len(set(seeds)) == 4


def test_has_boxed_answer():
    assert has_boxed_answer("so \\boxed{3}")
    assert not has_boxed_answer("the boxed answer")
    assert not has_boxed_answer("```python\nprint('\\\\boxed{1}')\n```\n")
    assert not has_boxed_answer("\\boxed{unfinished")


def test_batched_driver_starts_a_rows_code_before_the_batch_finishes(scripted, problem, sandbox):
    """A backend that reports rows as they stop (``early_finish``) gets each program run while it is
    still generating: here it refuses to return until the interpreter has already run row 0's code."""
    import threading
    import time

    ran = threading.Event()

    class Reporting(scripted):
        early_finish = True

        def generate(self, prompts, params, on_finish=None):
            outs = super().generate(prompts, params)
            if on_finish is not None and "```output\n" not in prompts[0]:  # the first round
                on_finish(0, outs[0][0])
                self.started_early = ran.wait(10)  # the loop must not need generate() to return first
            return outs

    script = {
        "Early?": [CODE.format("print(6 * 7)"), "\\boxed{42}"],
        "Late?": [CODE.format("print(1 + 1)"), "\\boxed{2}"],
    }
    backend = Reporting(script)
    real_session = sandbox.session

    class Watched:
        def __init__(self, session):
            self.session = session

        def open(self):
            self.session.open()
            return self

        def run(self, code, **kw):
            result = self.session.run(code, **kw)
            if "6 * 7" in code:
                ran.set()
            return result

        def close(self):
            self.session.close()

    sandbox.session = lambda **kw: Watched(real_session(**kw))
    try:
        start = time.monotonic()
        trajs = run_tir(backend, [problem("a", "Early?"), problem("b", "Late?")], sandbox=sandbox,
                        params=GenParams(max_tokens=64))  # fmt: skip
    finally:
        del sandbox.session
    assert backend.started_early and time.monotonic() - start < 10
    assert [(t.answer, [e.output for e in t.executions]) for t in trajs] == [("42", ["42"]), ("2", ["2"])]


@pytest.mark.parametrize(
    "completion, executions, expected",
    [
        ("Compute.\n" + CODE.format("print(2)"), 0, "print(2)"),  # stopped at the fence: its code
        ("So \\boxed{2}.\n" + CODE.format("print(2)"), 0, None),  # an answer ends the sample first
        ("Again.\n" + CODE.format("print(3)"), 4, None),  # max rounds: absorb appends the limit note
        ("No program here.\n```output", 0, None),  # a fence without a code block
    ],
)
def test_early_code_agrees_with_absorb(completion, executions, expected):
    from mathforge.infer.steps import Steps
    from mathforge.infer.trajectory import Execution, Trajectory
    from mathforge.llm import Completion

    steps = Steps("tir", GenParams(max_tokens=64), max_rounds=4)
    traj = Trajectory("p", 0, "Question: q\nAnswer:\n", "tir")
    traj.executions = [Execution("x", "1", "ok", 0.0)] * executions
    c = Completion(completion, "stop", 5, stop="```output")
    early = steps.early_code(traj, c)
    assert traj.text == ""  # early_code does not touch the trajectory
    assert early == expected
    assert steps.absorb(traj, c) == expected
