"""The grading pool: order, fast path, hard timeout with worker replacement, percent option."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from mathforge.answer import Grader, GradeResult

# a pair whose exact evaluation runs far past any timeout in C (big-integer power), out of reach of signals
HANGING = ("9^{9^{9}}", "1")


@pytest.fixture(scope="module")
def grader():
    with Grader(workers=2, timeout=20.0) as g:
        yield g


def test_results_in_input_order(grader):
    pairs = [("\\frac12", "0.5"), ("x^2", "x^3"), ("42", "42"), ("[1,2)", "[1,2]"), ("\\sqrt{8}", "2\\sqrt2")]
    results = grader.grade_many(pairs)
    assert [r.correct for r in results] == [True, False, True, False, True]
    assert all(isinstance(r, GradeResult) and r.status == "ok" for r in results), results


def _equiv_table():
    path = Path(__file__).with_name("test_equiv.py")
    spec = importlib.util.spec_from_file_location("answer_equiv_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PAIRS


def test_pool_grades_the_regression_table(grader):
    PAIRS = _equiv_table()
    results = grader.grade_many([(p, g) for p, g, _ in PAIRS])
    assert [r.correct for r in results] == [e for _, _, e in PAIRS]


def test_hanging_pair_times_out_and_pool_serves_on():
    # 9^(9^9) has ~370 million digits: no machine finishes it in 5 s, and legit pairs take well under 1 s
    with Grader(workers=1, timeout=5.0) as g:
        first = g.start()._pool[0].proc
        results = g.grade_many([HANGING, ("\\frac{\\pi}{2}", "\\pi/2"), ("2", "3")])
        assert not first.is_alive()  # killed, not left computing in the background
        assert g._pool[0].proc.pid != first.pid and g._pool[0].proc.is_alive()
        assert (results[0].correct, results[0].status) == (False, "timeout")
        assert (results[1].correct, results[1].status) == (True, "ok")
        assert results[2].correct is False
        assert g.timeouts == 1
        # the replaced worker keeps serving later calls
        assert g.grade("\\sqrt{2}/2", "\\frac{1}{\\sqrt2}").correct is True


def test_on_result_callback_sees_every_pair(grader):
    seen = []
    grader.grade_many([("1", "1"), ("\\pi", "\\pi"), ("a", "b")], on_result=lambda i, r: seen.append(i))
    assert sorted(seen) == [0, 1, 2]


def test_percent_option_reaches_workers():
    with Grader(workers=1, timeout=10.0, percent=True) as g:
        assert g.grade("25\\pi", "\\frac{\\pi}{4}").correct is True
        assert g.grade("50", "0.5").correct is True
    with Grader(workers=1, timeout=10.0) as g:
        assert g.grade("25\\pi", "\\frac{\\pi}{4}").correct is False


def test_closed_grader_refuses_work():
    g = Grader(workers=1)
    g.close()
    with pytest.raises(RuntimeError):
        g.grade_many([("1", "1")])


def test_unguarded_script_can_use_the_pool(tmp_path):
    """Workers must not re-run a main script that has no `if __name__ == "__main__":` guard."""
    script = tmp_path / "grade_now.py"
    script.write_text(
        "from mathforge.answer import Grader\n"
        "with Grader(workers=1, timeout=60) as g:\n"
        "    print([r.correct for r in g.grade_many([('\\\\sqrt{8}', '2\\\\sqrt{2}'), ('(1,2)', '[1,2]')])])\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[True, False]"


def test_start_brings_all_workers_up_before_grading():
    with Grader(workers=2, timeout=30.0) as g:
        assert g.start() is g
        assert len(g._pool) == 2 and all(w.ready and w.proc.is_alive() for w in g._pool)
        assert g.grade("\\sqrt{12}", "2\\sqrt{3}").correct is True


def test_one_grader_shared_by_threads(grader):
    from concurrent.futures import ThreadPoolExecutor

    jobs = [
        [(f"\\frac{{{i}}}{{2}}", f"{i / 2}"), ("\\sqrt{8}", "2\\sqrt{2}"), (f"{i}", f"{i + 1}")]
        for i in range(6)
    ]
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(grader.grade_many, jobs))
    assert [[r.correct for r in results] for results in outcomes] == [[True, True, False]] * 6
