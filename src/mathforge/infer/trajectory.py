"""What one (problem, sample) run produced: the verbatim transcript and each execution."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

#: appended (as the interpreter's reply) when the model asks for one execution more than allowed, as ToRA does
MAX_CALLS_NOTE = "Reach max function call limit."

#: why a trajectory ended
FINISH_REASONS = (
    "answer",  # a \boxed{} answer appeared in the model's prose
    "eos",  # the model stopped (end of sequence) without a boxed answer and with no code left to run
    "length",  # a generation call hit max_tokens
    "max_rounds",  # the model wanted more executions than max_rounds
    "no_code",  # the stop string fired but no complete code block preceded it (nothing to run)
    "program",  # pot: the one program ran; its output is the answer
)


@dataclass
class Execution:
    code: str
    output: str  # the rendered text the model saw in the output block
    status: str  # mathforge.sandbox ExecResult.status
    duration: float = 0.0
    replaced: int = 0  # characters of the output that were not valid text, shown as U+FFFD


@dataclass
class Trajectory:
    problem_id: str
    sample: int
    prompt: str | list  # the text continued, or (for a chat API) the message list
    mode: str = "tir"
    text: str = ""  # everything after the prompt: the model's text and the interpreter's output blocks
    executions: list[Execution] = field(default_factory=list)
    rounds: int = 0  # generation calls
    tokens: int = 0  # generated tokens over all calls (interpreter text not counted)
    finish: str = ""
    answer: str | None = None
    done: bool = False
    gen_seconds: float = 0.0
    exec_seconds: float = 0.0
    error: str | None = None  # a request that failed (after retries): the sample is unfinished, not wrong

    def to_dict(self) -> dict:
        row = asdict(self)
        row.pop("done")
        return row

    @classmethod
    def from_dict(cls, row: dict) -> Trajectory:
        execs = [Execution(**e) for e in row.get("executions", [])]
        keys = {f for f in cls.__dataclass_fields__ if f not in ("executions", "done")}
        return cls(**{k: v for k, v in row.items() if k in keys}, executions=execs, done=True)
