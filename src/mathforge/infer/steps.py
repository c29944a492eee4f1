"""The per-sample state machine of tool-integrated inference, independent of how generation is scheduled.

``request`` says what to generate next, ``absorb`` takes a completion and returns the code to run (or None
when the sample is finished), ``add_execution`` appends the interpreter's reply. The drivers in
``loop.py`` call these in a batch-per-round (in-process) or one-task-per-sample (HTTP) schedule.
"""

from __future__ import annotations

from dataclasses import replace

from mathforge.infer.trajectory import MAX_CALLS_NOTE, Trajectory
from mathforge.llm import Completion, GenParams
from mathforge.solution import Text, answer_end, get_format, last_code, parse

MODES = ("tir", "cot", "pot")


def has_boxed_answer(text: str, fmt="tora") -> bool:
    """A complete ``\\boxed{...}`` in the prose (not inside code or output, not just the word "boxed")."""
    from mathforge.solution import last_boxed

    return any(isinstance(s, Text) and last_boxed(s.text) is not None for s in parse(text, fmt))


class Steps:
    def __init__(
        self,
        mode: str = "tir",
        params: GenParams | None = None,
        max_rounds: int = 4,
        fmt="tora",
        render_kwargs: dict | None = None,
    ):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose from {MODES}")
        self.mode = mode
        self.fmt = get_format(fmt)
        self.max_rounds = max(0, int(max_rounds))
        base = (params or GenParams()).with_(n=1)
        # tir and pot pause at the output fence; cot runs free (only the caller's own stop strings)
        stops = base.stop if mode == "cot" else tuple(dict.fromkeys([*base.stop, self.fmt.stop]))
        self.params = base.with_(stop=stops)
        self.render_kwargs = render_kwargs or {}

    # -- generation
    def request(self, traj: Trajectory, chat: bool = False, sample_seed: bool = True):
        """(prompt, params) for the next generation call; ``chat`` gives a message list instead of text.

        ``sample_seed``: derive a seed per (sample, round), for backends that sample each request on its
        own; a batching caller passes False and seeds each batched call instead."""
        params = self.params
        if sample_seed and params.seed is not None:
            params = params.with_(seed=params.seed + 1_000_003 * traj.sample + 7_919 * traj.rounds)
        if chat:  # a ready message list (system, worked examples, the question), or the question alone
            msgs = (
                list(traj.prompt)
                if isinstance(traj.prompt, list)
                else [{"role": "user", "content": traj.prompt}]
            )
            if traj.text:
                msgs.append({"role": "assistant", "content": traj.text})
            return msgs, params
        return traj.prompt + traj.text, params

    def absorb(self, traj: Trajectory, c: Completion) -> str | None:
        """Append a completion; return the code to execute next, or None (then ``traj.done`` is set).

        A completion that goes on after a complete ``\\boxed{}`` answer in its prose (another code block, a
        second guess) is cut after the answer's line: the answer ends the sample."""
        if self.mode != "pot":
            end = answer_end(c.text, self.fmt)
            if end is not None and end < len(c.text):
                c = replace(c, text=c.text[:end], stop=None, finish_reason="stop")
        traj.text += c.text
        traj.tokens += c.tokens
        traj.rounds += 1
        stop = self.fmt.stop
        if self.mode == "cot":
            return self._finish(
                traj,
                "answer"
                if has_boxed_answer(c.text, self.fmt)
                else "length"
                if c.finish_reason == "length"
                else "eos",
            )
        if self.mode == "tir" and has_boxed_answer(c.text, self.fmt):
            return self._finish(traj, "answer")
        if c.stop == stop:
            code = last_code(traj.text[: -len(stop)], self.fmt)
            if code is None:
                return self._finish(traj, "no_code")
        elif c.finish_reason == "length":
            return self._finish(traj, "length")
        else:  # EOS: a complete code block right before it is still run (the model forgot the output fence)
            code = last_code(traj.text, self.fmt)
            if code is None:
                return self._finish(traj, "eos")
        if self.mode == "tir" and len(traj.executions) >= self.max_rounds:
            self._append_output(traj, MAX_CALLS_NOTE)
            return self._finish(traj, "max_rounds")
        return code

    def early_code(self, traj: Trajectory, c: Completion) -> str | None:
        """The code ``absorb(traj, c)`` will return when ``c`` stopped at the output fence, without
        changing ``traj`` (so the caller may start it before the rest of the batch is generated);
        None in every other case, which ``absorb`` then handles as usual."""
        stop = self.fmt.stop
        if self.mode == "cot" or c.stop != stop:
            return None
        if self.mode == "tir" and (
            has_boxed_answer(c.text, self.fmt) or len(traj.executions) >= self.max_rounds
        ):
            return None
        return last_code((traj.text + c.text)[: -len(stop)], self.fmt)

    def add_execution(self, traj: Trajectory, code: str, result) -> None:
        """Record an ``ExecResult`` and append the output block the model will read."""
        from mathforge.infer.trajectory import Execution
        from mathforge.sandbox import render

        shown = render(result, **self.render_kwargs)
        traj.executions.append(
            Execution(code, shown, result.status, round(result.duration, 4), result.replaced)
        )
        traj.exec_seconds += result.duration
        self._append_output(traj, shown)
        if self.mode == "pot":
            self._finish(traj, "program")

    def _append_output(self, traj: Trajectory, body: str) -> None:
        f = self.fmt
        if traj.text.endswith(f.stop):  # the model wrote the opening fence: add the rest of it
            traj.text += f.output_open[len(f.stop) :]
        else:
            if not traj.text.endswith("\n"):
                traj.text += "\n"
            traj.text += f.output_open
        body = body.strip("\n")
        if f.name == "mario":
            body = body.replace("\n", "\\n")  # one Output: line per execution
        traj.text += body + f.output_close

    def _finish(self, traj: Trajectory, reason: str) -> None:
        traj.finish = reason
        traj.done = True
        traj.answer = self.answer(traj)
        return None

    def answer(self, traj: Trajectory) -> str | None:
        return answer_of(self.mode, traj.text, traj.executions)


def answer_of(mode: str, text: str, executions) -> str | None:
    """A finished sample's answer: pot's is its program's last printed line (none if the program failed);
    tir's and cot's is extracted from the transcript (``mathforge.answer.extract_answer``)."""
    if mode == "pot":
        if not executions or executions[-1].status not in ("ok", "truncated"):
            return None
        lines = [ln.strip() for ln in executions[-1].output.splitlines() if ln.strip()]
        return lines[-1] if lines else None
    from mathforge.answer import extract_answer

    return extract_answer(text)
