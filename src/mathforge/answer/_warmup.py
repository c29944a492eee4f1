"""Importing this module warms math-verify up (its LaTeX parser and regexes build lazily on first use).

The grading pool's fork server preloads it, so every worker (and every replacement of a killed one)
starts warm instead of spending its first pair's timeout on one-time initialisation.
"""

from mathforge.answer.equiv import _quiet_math_verify, math_verify_equiv


def warm_up() -> None:
    _quiet_math_verify()
    for pred, gold in [("\\frac{1}{2}", "0.5"), ("(1,2]", "\\{1,2\\}"), ("x^2+1", "\\sqrt{2}\\pi")]:
        math_verify_equiv(pred, gold)


warm_up()
