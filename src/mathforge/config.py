"""Stage configs: one typed declaration per setting, from which the CLI flags and recipe checks are made.

A stage's settings are the fields of one pydantic model (a subclass of :class:`Config`). Each field is
declared once with :func:`setting`: its type, default, help and, where it names a file or folder, whether
the stage reads it (``io="in"``) or writes it (``io="out"``). From that one declaration:

* ``mathforge VERB --help`` and the flags (``mathforge.cli`` builds the parser: ``--max-rounds`` is the
  field ``max_rounds``; ``Literal`` types become choices, ``bool`` becomes ``--flag/--no-flag``);
* a recipe step constructs the config directly (YAML keys are field names); an unknown key or a bad value
  is an error naming the recipe file, the step and the key (``mathforge.recipes``);
* the dry run knows what a step reads and writes without guessing.

Settings shared by several stages are declared once in a mixin (``BackendConfig`` in ``mathforge.llm``,
``SandboxConfig`` in ``mathforge.sandbox``, ``GraderConfig`` in ``mathforge.answer``, ``ProblemsConfig`` in
``mathforge.data``) that stage configs inherit, so their keys stay flat (``base_url``, ``sandbox_timeout``).
A stage that wants another default for an inherited setting re-declares only the default with
:func:`redefault`; the help stays where the setting was declared.
"""

from __future__ import annotations

import os
import types
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from mathforge.io import DataError

IO = Literal["in", "out"]
#: what an input or output names: a file, a folder, a model (folder or hub id), a dataset (name or file)
Kind = Literal["file", "dir", "model", "dataset"]


def setting(
    default: Any = PydanticUndefined,
    help: str = "",
    *,
    io: IO | None = None,
    kind: Kind = "file",
    positional: bool = False,
    cli: bool = True,
    resume: bool = False,
    metavar: str | None = None,
    **constraints: Any,
) -> Any:
    """Declare one setting (a pydantic ``Field`` with mathforge's metadata).

    ``io``: the stage reads (``"in"``) or writes (``"out"``) what the value names (``kind`` says what it is).
    ``positional``: a positional CLI argument instead of a ``--flag``. ``cli=False``: only settable from a
    recipe or ``--config`` (structured values such as a list of training stages). ``resume``: a setting that
    changes what an output row is, so a resumed run must use the same value. ``constraints``: pydantic's
    (``ge=1``, ...).
    """
    extra = {
        "io": io,
        "kind": kind,
        "positional": positional,
        "cli": cli,
        "resume": resume,
        "metavar": metavar,
    }
    return Field(default, description=help, json_schema_extra=extra, **constraints)


def redefault(base: type[BaseModel], name: str, default: Any = PydanticUndefined, **meta: Any) -> Any:
    """The setting ``name`` declared in ``base``, with another default (``PydanticUndefined``: required)
    and, optionally, other metadata (``positional=True``, ``io=...``); its help is kept from ``base``.

    Used by a stage that inherits a shared setting but needs another default, or that takes just one
    setting of a mixin without inheriting the rest."""
    original = base.model_fields[name]
    extra = {**(original.json_schema_extra or {}), **meta}
    info = FieldInfo.merge_field_infos(original, json_schema_extra=extra)
    info.default = default
    return info


class Config(BaseModel):
    """Base of every stage config: unknown keys are errors, values are validated on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())

    @classmethod
    def meta(cls, name: str) -> dict:
        return dict(cls.model_fields[name].json_schema_extra or {})

    @classmethod
    def resume_keys(cls) -> list[str]:
        return [n for n in cls.model_fields if cls.meta(n).get("resume")]

    def paths(self, io: IO) -> list[tuple[str, str, str]]:
        """``(field, value, kind)`` for every set field that the stage reads (``"in"``) or writes (``"out"``)."""
        out = []
        for name in type(self).model_fields:
            meta = self.meta(name)
            value = getattr(self, name)
            if meta.get("io") != io or value is None:
                continue
            for v in value if isinstance(value, (list, tuple)) else [value]:
                out.append((name, str(v), meta.get("kind", "file")))
        return out

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> dict:
        """The settings a ``--config`` YAML file gives (a mapping of field names), not yet validated."""
        from mathforge.io import read_yaml

        raw = read_yaml(path)
        if not isinstance(raw, dict):
            raise DataError("a config file must be a mapping of setting names to values", path)
        return raw


def validate(cls: type[Config], values: dict, *, path=None, where: str | None = None) -> Config:
    """``cls(**values)``, with a validation error turned into a :class:`DataError` naming the key."""
    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        raise DataError(describe_errors(exc), path, field=_join(where, _first_key(exc))) from None


def describe_errors(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:4]:
        key = ".".join(str(x) for x in err["loc"]) or "(config)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown setting"
        parts.append(f"{key}: {msg}")
    more = len(exc.errors()) - 4
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def _first_key(exc: ValidationError) -> str | None:
    errors = exc.errors()
    return ".".join(str(x) for x in errors[0]["loc"]) if errors and errors[0]["loc"] else None


def _join(where: str | None, key: str | None) -> str | None:
    if where and key:
        return f"{where}.{key}"
    return where or key


# ---------------------------------------------------------------------------------------- type helpers


def unwrap_optional(annotation) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); anything else -> (annotation, False)."""
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(args) < len(get_args(annotation)):
            return args[0], True
    return annotation, False


def choices_of(annotation) -> tuple | None:
    """The values of a ``Literal[...]`` type (after unwrapping ``| None``), else None."""
    inner, _ = unwrap_optional(annotation)
    return get_args(inner) if get_origin(inner) is Literal else None


def scalar_type(annotation):
    """The argparse ``type`` for a field: int, float, str (Path -> str); None when not a scalar."""
    inner, _ = unwrap_optional(annotation)
    choices = choices_of(inner)
    if choices is not None:
        return type(choices[0])
    if inner in (int, float, str):
        return inner
    if inner is Path:
        return str
    return None


def list_item_type(annotation):
    """The item type of ``list[X]`` (or ``tuple[X, ...]``) for scalar X, else None."""
    inner, _ = unwrap_optional(annotation)
    if get_origin(inner) in (list, tuple):
        args = [a for a in get_args(inner) if a is not Ellipsis]
        if len(args) == 1 and scalar_type(args[0]) is not None:
            return scalar_type(args[0])
    return None
