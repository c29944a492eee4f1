"""``mathforge sandbox doctor`` (which protections this kernel grants) and ``sandbox run`` (execute a file)."""

from __future__ import annotations

import sys
from pathlib import Path

from mathforge.config import Config, setting


class DoctorConfig(Config):
    """Report the protections in force, and probe them with attacks."""

    probes: bool = setting(True, "run the attack probes (--no-probes: only report what was set up)")


class RunFileConfig(Config):
    """Execute one Python file in the sandbox."""

    file: str = setting(help="path to a .py file, or - to read stdin", io="in", positional=True)
    timeout: float = setting(5.0, "wall-clock seconds")
    memory: int = setting(2048, "address-space limit in MiB")
    repl: bool = setting(False, "print the value of a final bare expression")
    render: bool = setting(False, "print what the model would see (ToRA style)")


def run_file(cfg: RunFileConfig):
    from mathforge.sandbox import Sandbox

    code = sys.stdin.read() if cfg.file == "-" else Path(cfg.file).read_text(encoding="utf-8")
    # one full zygote and no lean tier: a single cell does not repay starting more processes
    with Sandbox(
        workers=1, light_workers=0, timeout=cfg.timeout, memory=cfg.memory << 20, repl=cfg.repl
    ) as sb:
        return sb.run(code)


def print_result(cfg: RunFileConfig, result) -> int:
    from mathforge.sandbox import render

    if cfg.render:
        print(render(result))
    else:
        sys.stdout.write(result.stdout)
        if result.error:
            print(result.error, file=sys.stderr)
    print(f"[status={result.status} duration={result.duration:.3f}s]", file=sys.stderr)
    return 0 if result.status == "ok" else 1


def doctor(cfg: DoctorConfig) -> int:
    from mathforge.sandbox.doctor import doctor as run_doctor

    return run_doctor(probes=cfg.probes)


def exit_code(cfg: DoctorConfig, code: int) -> int:
    return code
