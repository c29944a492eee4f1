"""GSM8K label audit: chains that do not reproduce their ``####`` answer, or arithmetic that is wrong.

One JSONL row per finding, with the two values that disagree (``stated`` is what the dataset wrote,
``computed`` what the arithmetic gives):

* ``annotation_wrong``: a calculator annotation ``<<expr=v>>`` whose expression does not give ``v``;
* ``text_value_mismatch``: the prose restates an annotation with another number (``<<5*7=35>>36``);
* ``text_arithmetic_wrong``: unannotated prose arithmetic (``$43 - $18 = $26``) that is wrong;
* ``chain_answer_mismatch``: the chain's last computed value is not the ``####`` answer
  (``stated`` = the answer, ``computed`` = the chain's last value).

Rounding is not an error: ``10/3=3.33`` is accepted (see ``chain.rounds_to``). Solutions with no
arithmetic at all (pure algebra) are not audited.
"""

from __future__ import annotations

from mathforge.augment.chain import ChainError, EvalError, close, evaluate, parse_chain, rounds_to


def audit_answer(problem_id: str, answer: str) -> list[dict]:
    """Every finding for one GSM8K solution (empty when it is consistent)."""
    try:
        chain = parse_chain(answer)
    except ChainError as exc:
        return [_row(problem_id, "unparseable", None, None, None, None, str(exc))]
    findings = []
    last = None
    for step in chain.steps:
        line = chain.lines[step.line]
        try:
            value = evaluate(step.expr)
        except (EvalError, SyntaxError):
            continue  # a misread of prose, not a label error
        last = value
        if not rounds_to(value, step.claimed_text):
            reason = "annotation_wrong" if step.annotated else "text_arithmetic_wrong"
            findings.append(_row(problem_id, reason, step.expr, step.claimed, value, step.line, line))
        elif step.written is not None and not close(step.written, step.claimed):
            findings.append(
                _row(
                    problem_id, "text_value_mismatch", step.expr, step.written, step.claimed, step.line, line
                )
            )
    # a last step in percent/cents (0.25 -> "#### 25") is a unit change, not a wrong label
    if (
        last is not None
        and chain.gold is not None
        and not (close(last, chain.gold) or close(last * 100, chain.gold))
    ):
        findings.append(
            _row(
                problem_id,
                "chain_answer_mismatch",
                None,
                chain.gold,
                last,
                len(chain.lines) - 1,
                chain.lines[-1],
            )
        )
    return findings


def _row(pid, reason, expr, stated, computed, line_no, line) -> dict:
    return {"id": pid, "reason": reason, "expr": expr, "stated": stated, "computed": computed,
            "line_no": line_no, "line": line}  # fmt: skip
