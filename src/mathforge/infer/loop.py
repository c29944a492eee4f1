"""Drivers of the tool-integrated loop: batch per round (in-process) or one task per sample (HTTP).

In-process, a model call is the expensive, serial part: all live samples generate together and each sample's
code starts in its own sandbox ``Session`` the moment its row reaches the output fence (the backend reports
rows as they stop, so the interpreter works while the rest of the batch decodes); then the next round.
Finished samples are replaced from the queue right away so the batch stays full. Over HTTP the server batches for us: each
sample is an asyncio task that advances on its own, so one slow program or long generation holds no one else,
and one request that fails (after the backend's retries) fails only its own sample: that trajectory ends with
``error`` set and is not passed to ``on_done``, so a caller records nothing for it and a re-run retries it
(so does a program that no sandbox server could run). Each sample's requests run inside
``llm.affinity((problem id, sample))``: a backend over several servers keeps them on one.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from mathforge.infer.steps import Steps
from mathforge.infer.trajectory import Trajectory
from mathforge.llm import Backend, GenParams, affinity


def run_tir(
    backend: Backend,
    problems: Iterable,
    mode: str = "tir",
    n: int = 1,
    params: GenParams | None = None,
    max_rounds: int = 4,
    sandbox=None,
    *,
    fmt: str = "tora",
    prompt_format: str = "plain",
    tokenizer=None,
    prompts: dict | None = None,
    skip: set | None = None,
    on_done: Callable[[Trajectory], None] | None = None,
    batch_size: int | None = None,
    max_active: int | None = None,
    render_kwargs: dict | None = None,
) -> list[Trajectory]:
    """Run ``n`` samples of every problem; returns the trajectories in (problem, sample) order.

    ``problems``: objects with ``.id`` and ``.question`` (``mathforge.data.Problem``). ``prompts`` maps a
    problem id to a ready prompt (else ``build_prompt(question, prompt_format, tokenizer)``). ``skip`` holds
    (problem_id, sample) pairs already done (resume). ``on_done(traj)`` is called as each one finishes
    (from a worker thread in the HTTP driver). ``sandbox`` defaults to a fresh ``mathforge.sandbox.Sandbox``.
    """
    from mathforge.solution import build_prompt

    steps = Steps(mode, params, max_rounds, fmt, render_kwargs)
    chat = backend.api == "chat"
    skip = skip or set()
    trajs: list[Trajectory] = []
    for p in problems:
        if prompts and p.id in prompts:
            prompt = prompts[p.id]
        elif chat:
            prompt = p.question.strip()  # the server applies its own chat template
        else:
            prompt = build_prompt(p.question, prompt_format, tokenizer=tokenizer)
        trajs += [Trajectory(str(p.id), s, prompt, mode) for s in range(n) if (str(p.id), s) not in skip]
    if not trajs:
        return []
    own_sandbox = sandbox is None and mode != "cot"
    if own_sandbox:
        from mathforge.sandbox import Sandbox

        sandbox = Sandbox()
    try:
        if backend.concurrent:
            limit = max_active or 4 * backend.max_batch
            asyncio.run(_run_async(backend, steps, trajs, sandbox, on_done, chat, limit))
        else:
            _run_batched(backend, steps, trajs, sandbox, on_done, batch_size or backend.max_batch)
    finally:
        if own_sandbox:
            sandbox.close()
    return trajs


def _run_batched(backend, steps: Steps, trajs, sandbox, on_done, batch_size: int) -> None:
    queue = deque(trajs)
    active: list[Trajectory] = []
    sessions: dict[int, Future] = {}  # id(traj) -> its session, opened in the background
    pool = _session_pool()
    calls = 0
    try:
        while queue or active:
            while queue and len(active) < batch_size:
                t = queue.popleft()
                active.append(t)
                if steps.mode != "cot":  # fork its interpreter now, while the model generates
                    sessions[id(t)] = pool.submit(_open_session, sandbox)
            # every live sample in one call (the backend sorts by length and splits into batches)
            prompts = [steps.request(t, sample_seed=False)[0] for t in active]
            params = steps.params
            if params.seed is not None:
                params = params.with_(seed=params.seed + calls)
            calls += 1
            # a row that stops at the output fence starts its code at once, while the batch decodes on
            # (in a pool thread: the generating thread only hands the completion over)
            early: dict[int, Future] = {}

            def start_early(i: int, c, batch=active, early=early) -> None:
                early[i] = pool.submit(_run_early, steps, batch[i], c, sessions.get(id(batch[i])))

            start = time.perf_counter()
            outs = backend.generate(prompts, params, on_finish=start_early if backend.early_finish else None)
            share = (time.perf_counter() - start) / len(active)
            todo: list[tuple[Trajectory, str, object]] = []
            for i, (t, out) in enumerate(zip(active, outs, strict=True)):
                t.gen_seconds += share
                started = early.pop(i, None)
                started_code, started_result = started.result() if started is not None else (None, None)
                code = steps.absorb(t, out[0])  # after the early task read the trajectory
                if code is not None and code == started_code:
                    todo.append((t, code, started_result))
                elif code is not None:  # not started early (e.g. EOS right after a code block): run it now
                    todo.append((t, code, pool.submit(_execute, sessions[id(t)], code)))
            for t, code, result in todo:
                steps.add_execution(t, code, result.result() if isinstance(result, Future) else result)
            still = []
            for t in active:
                if t.done:
                    _close(sessions.pop(id(t), None))
                    if on_done is not None:
                        on_done(t)
                else:
                    still.append(t)
            active = still
    finally:
        for future in sessions.values():
            _close(future)


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _session_pool() -> ThreadPoolExecutor:
    """Threads that open sessions and wait on their cells (I/O only), shared by every run: starting them
    anew for each ``run_tir`` call cost up to 15 ms of wall time on a busy 2-core machine."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="mathforge-tir")
        return _POOL


def _execute(session: Future, code: str):
    return session.result().run(code)


def _run_early(steps: Steps, traj: Trajectory, completion, session: Future | None):
    """(code, result) for a row that stopped at the output fence, or (None, None) if absorb will not run
    code for it."""
    code = steps.early_code(traj, completion) if session is not None else None
    return (code, _execute(session, code)) if code is not None else (None, None)


def _open_session(sandbox):
    return sandbox.session().open()  # forked now, before its first program


def _close(future: Future | None) -> None:
    if future is None:
        return
    try:
        future.result().close()
    except Exception:  # noqa: BLE001 - a session that failed to open has nothing to close
        pass


async def _run_async(backend, steps: Steps, trajs, sandbox, on_done, chat: bool, limit: int) -> None:
    gate = asyncio.Semaphore(max(1, limit))  # bounds open sandbox sessions, not only requests

    async def one(t: Trajectory) -> None:
        # one sample's rounds are one unit of work: over several servers they stay on one (its prefix cache)
        with affinity((t.problem_id, t.sample)):
            await rounds(t)
        if on_done is not None and t.error is None:  # a failed sample is not recorded: a re-run retries it
            await asyncio.to_thread(on_done, t)

    async def rounds(t: Trajectory) -> None:
        async with gate:
            session = warm = None
            if steps.mode != "cot":  # fork its interpreter while the first request is out
                session = sandbox.session()
                warm = asyncio.ensure_future(session.aopen())
            try:
                while not t.done:
                    prompt, p = steps.request(t, chat=chat)
                    start = time.perf_counter()
                    try:
                        (c,) = await backend.agenerate(prompt, p)
                    except Exception as exc:  # noqa: BLE001 - a failed request fails its own sample only
                        t.error = f"{type(exc).__name__}: {exc}"[:500]
                        return
                    t.gen_seconds += time.perf_counter() - start
                    code = steps.absorb(t, c)
                    if code is None:
                        break
                    try:
                        if warm is not None:
                            await warm
                            warm = None
                        result = await _arun(session, code)
                    except Exception as exc:  # noqa: BLE001 - sandbox servers unreachable: this sample only
                        t.error = f"sandbox: {type(exc).__name__}: {exc}"[:500]
                        return
                    steps.add_execution(t, code, result)
            finally:
                if warm is not None:
                    await asyncio.gather(warm, return_exceptions=True)
                if session is not None:
                    session.close()

    try:
        await asyncio.gather(*(one(t) for t in trajs))
    finally:
        await backend.aclose()
        if sandbox is not None and hasattr(sandbox, "aclose"):  # HTTP connections of a remote sandbox
            await sandbox.aclose()


async def _arun(session, code: str):
    return await session.arun(code)
