"""`mathforge sandbox`: `doctor` (which protections this kernel grants) and `run` (execute a file)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="isolated Python executor: check protections, run code",
        description="The sandboxed Python executor used for tool-integrated reasoning.",
    )
    sub = parser.add_subparsers(dest="sandbox_cmd", metavar="CMD")
    doctor = sub.add_parser("doctor", help="print which protections are active (and probe them)")
    doctor.add_argument(
        "--no-probes", action="store_true", help="only report set-up results, run no attack probes"
    )
    doctor.set_defaults(func=_doctor)
    run = sub.add_parser("run", help="execute a Python file (or - for stdin) in the sandbox")
    run.add_argument("file", help="path to a .py file, or - to read stdin")
    run.add_argument("--timeout", type=float, default=5.0, help="wall-clock seconds (default 5)")
    run.add_argument("--memory", type=int, default=2048, help="address-space limit in MiB (default 2048)")
    run.add_argument("--repl", action="store_true", help="print the value of a final bare expression")
    run.add_argument("--render", action="store_true", help="print what the model would see (ToRA style)")
    run.set_defaults(func=_run)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _run(args: argparse.Namespace) -> int:
    from mathforge.sandbox import Sandbox, render

    code = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    # one full zygote and no lean tier: a single cell does not repay starting more processes
    with Sandbox(
        workers=1, light_workers=0, timeout=args.timeout, memory=args.memory << 20, repl=args.repl
    ) as sb:
        result = sb.run(code)
    if args.render:
        print(render(result))
    else:
        sys.stdout.write(result.stdout)
        if result.error:
            print(result.error, file=sys.stderr)
    print(f"[status={result.status} duration={result.duration:.3f}s]", file=sys.stderr)
    return 0 if result.status == "ok" else 1


def _doctor(args: argparse.Namespace) -> int:
    from mathforge.sandbox.doctor import doctor

    return doctor(probes=not args.no_probes)
