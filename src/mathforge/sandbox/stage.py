"""The sandbox's verbs in the registry: ``sandbox doctor``, ``sandbox run`` and ``sandbox serve``."""

from mathforge.registry import Stage
from mathforge.sandbox.commands import DoctorConfig, RunFileConfig
from mathforge.sandbox.serve import ServeConfig

STAGES = [
    Stage(
        "sandbox doctor",
        DoctorConfig,
        run="mathforge.sandbox.commands:doctor",
        report="mathforge.sandbox.commands:exit_code",
        help="print which protections are active (and probe them)",
    ),
    Stage(
        "sandbox run",
        RunFileConfig,
        run="mathforge.sandbox.commands:run_file",
        report="mathforge.sandbox.commands:print_result",
        help="execute a Python file (or - for stdin) in the sandbox",
    ),
    Stage(
        "sandbox serve",
        ServeConfig,
        run="mathforge.sandbox.serve:serve",
        report="mathforge.sandbox.serve:report",
        help="serve the sandbox over HTTP (stateless runs, sessions; SandboxFusion's and NeMo-Skills' shapes)",
        description="Serve the fork-server pool over HTTP (uvicorn): POST /v1/run, /v1/sessions, "
        "/v1/sessions/ID/run; SandboxFusion's POST /run_code and NeMo-Skills' POST /execute; GET /health and "
        "/stats. Binds 127.0.0.1 by default; another address needs --token-file (or $MATHFORGE_SANDBOX_TOKEN). "
        "Stages use it with --sandbox-url URL [URL ...] (Sandbox(remote=...) in Python). docs/SCALE.md has "
        "the request and response shapes.",
    ),
]
