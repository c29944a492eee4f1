"""The sandbox's verbs in the registry: ``sandbox doctor`` and ``sandbox run``."""

from mathforge.registry import Stage
from mathforge.sandbox.commands import DoctorConfig, RunFileConfig

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
]
