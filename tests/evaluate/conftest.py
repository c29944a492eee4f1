"""Problems and a scripted backend for evaluate's unit tests (real-model tests use tiny_tir_model)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from mathforge.llm import Backend, Completion, cut_at_stop


@dataclass
class Problem:
    id: str
    question: str
    gold: str
    solution: str = ""
    dataset: str = "toy"
    split: str = "test"
    meta: dict = field(default_factory=dict)


class ArithmeticBackend(Backend):
    """Writes ``print(<expr>)`` for "What is <expr>?", then boxes the interpreter's output; sampling at
    temperature > 0 answers wrongly one time in four (by batch position), so votes can disagree."""

    def __init__(self):
        self.calls = 0
        self.last_call = None

    def generate(self, prompts, params, on_finish=None):
        outs = []
        for k, prompt in enumerate(prompts):
            self.calls += 1
            self.last_call = (prompt, params)
            expr = (re.findall(r"What is (.*?)\?", prompt) or ["0"])[-1]  # the question (examples come first)
            done = re.findall(r"```output\n(.*?)\n```", prompt)
            samples = []
            for i in range(params.n):
                if not done:
                    text = f"Let's compute.\n```python\nprint({expr})\n```\n```output"
                else:
                    value = done[-1]
                    if params.temperature > 0 and ((params.seed or 0) + k + i) % 4 == 1:
                        value = value + "1"
                    text = f"The answer is \\boxed{{{value}}}."
                cut, fired = cut_at_stop(text, params.stop)
                samples.append(Completion(cut, "stop", len(cut.split()), stop=fired))
            outs.append(samples)
        return outs


@pytest.fixture
def toy_problems():
    return [
        Problem("a", "What is 2 + 3?", "5", meta={"subject": "Algebra", "level": "Level 1"}),
        Problem("b", "What is 6 * 7?", "42", meta={"subject": "Algebra", "level": "Level 2"}),
        Problem("c", "What is 1 / 4?", "\\frac{1}{4}", meta={"subject": "Number Theory", "level": "Level 2"}),
        Problem(
            "d", "What is 10 - 3?", "8", meta={"subject": "Number Theory", "level": "Level 1"}
        ),  # gold wrong
    ]


@pytest.fixture
def arithmetic_backend():
    return ArithmeticBackend()


@pytest.fixture(scope="session")
def sandbox():
    from mathforge.sandbox import Sandbox

    with Sandbox(workers=2) as sb:
        yield sb
