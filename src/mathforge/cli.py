"""The `mathforge` command: a thin shim over the stage registry (``mathforge.registry``).

Every verb's flags are generated from its stage config (``mathforge.config``): ``--max-rounds`` is the
setting ``max_rounds``, with the help and default declared there. ``--config FILE`` (on every verb) reads
settings from YAML, keys being the setting names; flags given on the command line override it. The verb
then runs through ``stage.run(cfg)`` and its report, exactly as a recipe step does.

Bad input ends with one line naming file, line and field, and exit code 2; a full disk with one line and
exit code 1; Ctrl-C with exit code 130 (what was written so far stays, and a re-run resumes).
"""

from __future__ import annotations

import argparse
import errno
import sys

from mathforge.config import Config, choices_of, list_item_type, scalar_type, unwrap_optional, validate
from mathforge.io import DataError
from mathforge.registry import GROUPS, Stage, stages

_STAGE_KEY = "_mathforge_stage"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mathforge",
        description=(
            "Build and evaluate tool-integrated math-reasoning LLMs. "
            "Pipeline: augment questions -> synthesize CoT and code-nested solutions -> "
            "train (stage 1 CoT, stage 2 code-nested) -> infer with a sandboxed interpreter -> evaluate."
        ),
        epilog="Run `mathforge VERB --help` for the settings of each verb.",
    )
    parser.add_argument("--version", action="version", version=f"mathforge {_version()}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    groups: dict[str, argparse._SubParsersAction] = {}
    for stage in stages().values():
        words = stage.name.split()
        if len(words) == 1:
            p = verbs.add_parser(words[0], **_parser_texts(stage))
        else:
            group, cmd = words
            if group not in groups:
                gp = verbs.add_parser(group, help=GROUPS.get(group, ""), description=GROUPS.get(group, ""))
                gp.set_defaults(**{_STAGE_KEY: None, "_group_parser": gp})
                groups[group] = gp.add_subparsers(dest=f"{group}_cmd", metavar="CMD")
            p = groups[group].add_parser(cmd, **_parser_texts(stage))
        add_config_arguments(p, stage.config)
        p.set_defaults(**{_STAGE_KEY: stage.name, "_stage_parser": p})
    return parser


def _parser_texts(stage: Stage) -> dict:
    return {
        "help": stage.help,
        "description": stage.description or stage.help,
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


def add_config_arguments(parser: argparse.ArgumentParser, cls: type[Config]) -> None:
    """One argument per CLI-visible setting of ``cls``, grouped by the config that declares it (the stage's
    own settings first, then the shared ones: problems, backend, sampling, sandbox, grading). Values left
    out are not put in the namespace, so the config's own defaults apply."""
    parser.add_argument(
        "--config",
        dest="_config_file",
        metavar="FILE",
        help="YAML file of settings (keys are the setting names); flags given here override it",
    )
    groups: dict[type, argparse._ArgumentGroup] = {}
    for name, field in sorted(cls.model_fields.items(), key=lambda item: _group_rank(cls, item[0])):
        owner = _declared_by(cls, name)
        if owner not in groups:
            title = "settings" if owner is cls else _group_title(owner)
            groups[owner] = parser if owner is cls else parser.add_argument_group(title)
        _add_setting(groups[owner], cls, name, field)


def _declared_by(cls: type[Config], name: str) -> type:
    """The most basic config class that declares ``name`` (a re-declared default stays in its group)."""
    for klass in reversed(cls.__mro__):
        if (
            isinstance(klass, type)
            and issubclass(klass, Config)
            and name in vars(klass).get("__annotations__", {})
        ):
            return klass
    return cls


def _group_rank(cls: type[Config], name: str) -> int:
    owner = _declared_by(cls, name)
    return -1 if owner is cls else cls.__mro__.index(owner)


def _group_title(klass: type) -> str:
    doc = (klass.__doc__ or klass.__name__).strip().splitlines()[0]
    return f"{klass.__name__.removesuffix('Config').lower()}: {doc[0].lower()}{doc[1:].rstrip('.')}"


def _add_setting(parser, cls: type[Config], name: str, field) -> None:
    meta = cls.meta(name)
    if not meta.get("cli", True):
        return
    kwargs: dict = {"default": argparse.SUPPRESS, "help": _help(field)}
    annotation = field.annotation
    choices = choices_of(annotation)
    item = list_item_type(annotation)
    if unwrap_optional(annotation)[0] is bool:
        kwargs["action"] = argparse.BooleanOptionalAction
    elif item is not None:
        kwargs.update(nargs="+", type=item)
    elif scalar_type(annotation) is not None:
        kwargs["type"] = scalar_type(annotation)
        if choices is None and kwargs["type"] in _METAVARS:
            kwargs["metavar"] = _METAVARS[kwargs["type"]]
    else:
        return  # structured (a list of training stages, ...): only from a recipe or --config
    if choices is not None:
        kwargs["choices"] = list(choices)
    if meta.get("metavar"):
        kwargs["metavar"] = meta["metavar"]
    if not meta.get("positional"):
        parser.add_argument("--" + name.replace("_", "-"), dest=name, **kwargs)
        return
    if field.is_required():
        kwargs.pop("default")
    else:
        kwargs["nargs"] = "?"
    parser.add_argument(name, **kwargs)


_METAVARS = {int: "N", float: "X"}


def _help(field) -> str:
    text = field.description or ""
    if field.is_required():
        return f"{text} (required)" if text else "(required)"
    default = field.get_default(call_default_factory=True)
    if default is None or default == [] or default == "":
        return text
    shown = "on" if default is True else "off" if default is False else default
    return f"{text} (default: {shown})"


def config_from_args(cls: type[Config], args: argparse.Namespace) -> Config:
    """The config a parsed command line gives: ``--config`` file first, then the flags over it."""
    values: dict = {}
    path = getattr(args, "_config_file", None)
    if path:
        values.update(cls.from_yaml(path))
    values.update({k: v for k, v in vars(args).items() if k in cls.model_fields})
    return validate(cls, values, path=path)


def _version() -> str:
    from mathforge import __version__

    return __version__


def _log_to_stderr() -> None:
    """mathforge's own INFO messages (stage starts, resumes, ranks finishing) on stderr, as a CLI shows them."""
    import logging

    log = logging.getLogger("mathforge")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    _log_to_stderr()
    parser = build_parser()
    args = parser.parse_args(argv)
    name = getattr(args, _STAGE_KEY, None)
    if name is None:
        (getattr(args, "_group_parser", None) or parser).print_help()
        return 2
    stage = stages()[name]
    try:
        cfg = config_from_args(stage.config, args)
    except DataError as exc:
        args._stage_parser.error(str(exc))  # exits 2 with the usage line
    return run_stage(stage, cfg)


def run_stage(stage: Stage, cfg: Config) -> int:
    """Run one stage as the CLI does: its result through its report; bad input as one line."""
    try:
        result = stage(cfg)
        reporter = stage.reporter()
        return int(reporter(cfg, result) or 0) if reporter else 0
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: what was written stays; run the same command again to resume", file=sys.stderr)
        return 130
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            where = f": {exc.filename}" if exc.filename else ""
            print(
                f"error: no space left on the device{where}; free some and re-run to resume", file=sys.stderr
            )
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
