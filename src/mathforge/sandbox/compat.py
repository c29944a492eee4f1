"""Two other projects' request shapes on the sandbox service, so their clients can point at it unchanged.

SandboxFusion (``POST /run_code``; verl's and ToRL's sandbox client)::

    request   {"code": "print(1+1)", "language": "python", "run_timeout": 10}
    response  {"status": "Success", "message": "", "compile_result": null,
               "run_result": {"status": "Finished", "execution_time": 0.004, "return_code": 0,
                              "stdout": "2\\n", "stderr": ""},
               "executor_pod_name": null, "files": {}}

``status`` is ``Success`` (return code 0), ``Failed`` (an exception: return code 1; a killed program:
-9; a time-out: ``run_result.status`` ``TimeLimitExceeded``, return code null). ``stderr`` holds what the
program wrote there, then the last line of its traceback. Only Python runs (``language`` python or
python3); ``stdin``, ``files`` and ``fetch_files`` are refused (400) when not empty: programs have no
stdin and run in an empty temporary folder. ``memory_limit_MB`` and ``compile_timeout`` are accepted and
ignored: the server's own memory limit applies to every program.

NeMo-Skills (``POST /execute``; its ``LocalSandbox`` client)::

    request   {"generated_code": "x = 21\\nx * 2", "timeout": 10, "language": "ipython",
               "session_id": "sample-17"}
    response  {"process_status": "completed", "stdout": "42\\n", "stderr": ""}

``process_status`` is ``completed``, ``error`` (the traceback's last line is in ``stderr``) or
``timeout``. ``language`` ``ipython`` (the default) shows a final bare expression's value, as IPython does;
``python``/``python3`` do not. With a ``session_id`` the cell runs in that session, which is created on
first use (NeMo-Skills' semantics); ``DELETE /sessions/ID`` ends it and ``GET /sessions`` lists them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mathforge.sandbox.result import ExecResult

PYTHON_NAMES = ("python", "python3")


class FusionRunCode(BaseModel):
    """SandboxFusion's RunCodeRequest (fields this service does not use are accepted and ignored)."""

    model_config = ConfigDict(extra="ignore")
    code: str
    language: str = "python"
    run_timeout: float = Field(10.0, gt=0)
    compile_timeout: float = 10.0
    memory_limit_MB: int = -1
    stdin: str | None = None
    files: dict[str, str | None] = Field(default_factory=dict)
    fetch_files: list[str] = Field(default_factory=list)


class NemoExecute(BaseModel):
    """NeMo-Skills' execute request."""

    model_config = ConfigDict(extra="ignore")
    generated_code: str
    timeout: float = Field(10.0, gt=0)
    language: str = "ipython"
    std_input: str = ""
    session_id: str | None = Field(None, min_length=1, max_length=200)
    traceback_verbosity: str = "Plain"


def fusion_response(result: ExecResult) -> dict:
    """An :class:`ExecResult` as SandboxFusion's RunCodeResponse."""
    if result.status == "timeout":
        run_status, code = "TimeLimitExceeded", None
    else:
        run_status = "Finished"
        code = 0 if result.ok else -9 if result.status == "killed" else 1
    return {
        "status": "Success" if code == 0 else "Failed",
        "message": "",
        "compile_result": None,
        "run_result": {
            "status": run_status,
            "execution_time": round(result.duration, 6),
            "return_code": code,
            "stdout": result.stdout,
            "stderr": _stderr(result),
        },
        "executor_pod_name": None,
        "files": {},
    }


def nemo_response(result: ExecResult) -> dict:
    """An :class:`ExecResult` as NeMo-Skills' execute reply."""
    status = "completed" if result.ok else "timeout" if result.status == "timeout" else "error"
    return {"process_status": status, "stdout": result.stdout, "stderr": _stderr(result)}


def _stderr(result: ExecResult) -> str:
    if result.ok or not result.error:
        return result.stderr
    sep = "" if not result.stderr or result.stderr.endswith("\n") else "\n"
    return f"{result.stderr}{sep}{result.error}\n"


def add_compat_routes(app, state, guarded: list) -> None:
    from mathforge.sandbox.service import ServiceError

    @app.post("/run_code", dependencies=guarded)
    async def run_code(body: FusionRunCode):
        if body.language.lower() not in PYTHON_NAMES:
            raise ServiceError(400, f"this sandbox runs Python only, not language {body.language!r}")
        if body.stdin:
            raise ServiceError(400, "stdin is not supported: programs run with no standard input")
        if body.files or body.fetch_files:
            raise ServiceError(400, "files and fetch_files are not supported: programs run in an empty "
                                    "temporary folder that is removed afterwards")  # fmt: skip
        return fusion_response(await state.execute(body.code, timeout=body.run_timeout, repl=False))

    @app.post("/execute", dependencies=guarded)
    async def execute(body: NemoExecute):
        language = body.language.lower()
        if language != "ipython" and language not in PYTHON_NAMES:
            raise ServiceError(400, f"this sandbox runs Python only (ipython, python, python3), not "
                                    f"{body.language!r}")  # fmt: skip
        if body.std_input:
            raise ServiceError(400, "std_input is not supported: programs run with no standard input")
        repl = language == "ipython"
        if body.session_id is None:
            result = await state.execute(body.generated_code, timeout=body.timeout, repl=repl)
        else:
            if body.session_id not in state.sessions:  # NeMo-Skills creates a session on first use
                await state.open_session(body.session_id, repl=repl)
            result = await state.run_in_session(body.session_id, body.generated_code, timeout=body.timeout,
                                                repl=repl)  # fmt: skip
        return nemo_response(result)

    @app.get("/sessions", dependencies=guarded)
    async def list_sessions():
        return {"sessions": {sid: {"created": e.created, "last_used": e.last_used, "alive": True}
                             for sid, e in state.sessions.items()}, "backend": "mathforge"}  # fmt: skip

    @app.delete("/sessions/{sid}", dependencies=guarded)
    async def delete_session(sid: str):
        state.close_session(sid)
        return {"message": f"session {sid} deleted"}
