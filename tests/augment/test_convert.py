"""GSM8K chain -> sandbox-verified code-nested solution."""

from __future__ import annotations

from mathforge.augment.convert import MARKER, prepare
from mathforge.augment.pipeline import conversion_row, convert_many, summarize
from mathforge.solution import Code, Output, Text, parse


def _by_id(mini_gsm8k, sandbox):
    return {p.id: (p, c) for p, c in convert_many(mini_gsm8k, sandbox, chunk=3)}


def test_fixture_conversions_and_rejections(mini_gsm8k, sandbox):
    results = _by_id(mini_gsm8k, sandbox)
    ok = {pid for pid, (_, c) in results.items() if c.ok}
    reasons = {pid: c.reason for pid, (_, c) in results.items() if not c.ok}
    # the three broken problems of the fixture are refused, each for its own reason
    assert reasons == {
        "gsm8k/train/4": "text_arithmetic_wrong",  # prose says 36 - 10 = 25
        "gsm8k/train/5": "no_steps",  # pure algebra
        "gsm8k/train/6": "final_mismatch",  # chain gives 50, label says 40
    }
    assert len(ok) == 5
    assert summarize([c for _, c in results.values()])["converted"] == 5


def test_converted_solution_structure(mini_gsm8k, sandbox):
    problem, conv = _by_id(mini_gsm8k, sandbox)["gsm8k/train/0"]
    segs = parse(conv.solution, "tora")
    assert [type(s) for s in segs] == [Code, Output, Text, Code, Output, Text]
    # the result the second step reuses is a named variable, and outputs are what python printed
    first, second = segs[0].code, segs[3].code
    name = first.split(" = ")[0]
    assert name.isidentifier() and f"print({name})" in first and name in second
    assert segs[1].output == "18.0" and segs[4].output == "54.0"
    assert "<<" not in conv.solution and MARKER not in conv.solution
    assert conv.solution.endswith("\\boxed{54}.")
    row = conversion_row(problem, conv)
    assert row.source_id == problem.id and row.method == "gsm8k_chain_to_code" and row.gold == "54"
    assert (row.mode, row.format) == ("code", "tora")


def test_prose_final_step_becomes_code(mini_gsm8k, sandbox):
    _, conv = _by_id(mini_gsm8k, sandbox)["gsm8k/train/1"]
    codes = [s.code for s in parse(conv.solution) if isinstance(s, Code)]
    assert len(codes) == 2 and "50 -" in codes[1]


def test_execution_failure_is_a_rejection(sandbox):
    program, rejected = prepare("x", "A is 2+2 = <<2+2=4>>4\n#### 4")
    assert rejected is None
    program.blocks[0].code = "raise SystemExit(3)"  # a program that does not run to the end
    from mathforge.augment.convert import finish, numeric_equiv

    res = sandbox.run(program.source())
    conv = finish("x", program, res.status, res.stdout, numeric_equiv)
    assert not conv.ok and conv.reason.startswith("exec_")


def test_final_in_hundredths_gets_a_conversion_step(sandbox):
    answer = "Each can costs 12/48 = $<<12/48=0.25>>0.25.\n#### 25"
    program, rejected = prepare("c", answer)
    assert rejected is None and len(program.blocks) == 2
    from mathforge.augment.convert import finish, numeric_equiv

    res = sandbox.run(program.source())
    conv = finish("c", program, res.status, res.stdout, numeric_equiv)
    assert conv.ok and "* 100" in conv.solution and conv.solution.endswith("\\boxed{25}.")
