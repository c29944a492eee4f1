"""Per-problem grading options: how a dataset's golds are meant to be compared.

Datasets put them in ``Problem.meta["grading"]`` (a JSON dict, so a problem still round-trips through
JSONL); the grader takes them per pair: ``is_equiv(pred, gold, **options)`` or
``Grader.grade_many([(pred, gold, options), ...])``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class GradeOptions:
    # numbers within rel_tol * |gold| of the gold match (minerva_math: golds rounded to 2-3 digits)
    rel_tol: float | None = None
    # numbers within abs_tol of the gold match (OlympiadBench's per-problem "error")
    abs_tol: float | None = None
    # a decimal gold stands for every value that rounds to it at its significant figures (1.5708 -> 1.6)
    sig_figs: bool = False
    # the gold lists several answers ("69, 84", "5 or 9"): all must be given, any order, nothing extra
    multi_answer: bool = False

    def __post_init__(self):
        for name in ("rel_tol", "abs_tol"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and value >= 0):
                raise ValueError(f"grading option {name} must be a number >= 0, got {value!r}")

    @property
    def numeric_slack(self) -> bool:
        """True when a number may differ from the gold (a tolerance or significant-figure rounding)."""
        return bool(self.rel_tol or self.abs_tol or self.sig_figs)

    @classmethod
    def coerce(cls, value) -> GradeOptions:
        """``None``, a dict (as stored in ``meta["grading"]``) or a GradeOptions -> GradeOptions."""
        if value is None:
            return NO_OPTIONS
        if isinstance(value, GradeOptions):
            return value
        if not isinstance(value, dict):
            raise TypeError(f"grading options must be a dict or GradeOptions, got {type(value).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(value) - known
        if unknown:
            raise ValueError(f"unknown grading option(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**value)

    @classmethod
    def from_meta(cls, meta: dict | None) -> GradeOptions:
        """The options a problem's ``meta["grading"]`` asks for (none -> defaults)."""
        return cls.coerce((meta or {}).get("grading"))

    def to_dict(self) -> dict:
        """Only the options that differ from the defaults."""
        default = asdict(NO_OPTIONS)
        return {k: v for k, v in asdict(self).items() if v != default[k]}


NO_OPTIONS = GradeOptions()
