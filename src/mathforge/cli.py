"""The `mathforge` command: one verb per stage.

Each verb lives in its own module that exposes ``add_parser(subparsers)``; the module registers
its sub-parser and sets ``func`` (called with the parsed namespace, returns an exit code).
Verb modules import heavy libraries (torch, transformers) inside their functions so that
``mathforge --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# verb -> module that registers it. Order is the pipeline's order, as shown by --help.
VERBS: dict[str, str] = {
    "data": "mathforge.data.cli",
    "augment": "mathforge.augment.cli",
    "synthesize": "mathforge.synthesize.cli",
    "init-model": "mathforge.train.init_cli",
    "train": "mathforge.train.cli",
    "evaluate": "mathforge.evaluate.cli",
    "grade": "mathforge.answer.cli",
    "sandbox": "mathforge.sandbox.cli",
    "run": "mathforge.recipes",
    "demo": "mathforge.demo.cli",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mathforge",
        description=(
            "Build and evaluate tool-integrated math-reasoning LLMs. "
            "Pipeline: augment questions -> synthesize CoT and code-nested solutions -> "
            "train (stage 1 CoT, stage 2 code-nested) -> infer with a sandboxed interpreter -> evaluate."
        ),
        epilog="Run `mathforge VERB --help` for the options of each verb.",
    )
    parser.add_argument("--version", action="version", version=f"mathforge {_version()}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for module_name in VERBS.values():
        importlib.import_module(module_name).add_parser(sub)
    return parser


def _version() -> str:
    from mathforge import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
