"""What a load kept, skipped, repaired and normalized, and the file it read (sha256), so no record vanishes
silently and every run can say exactly which bytes it evaluated on."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


class SkipRecord(Exception):
    """Raised by a row converter for a record that must not be evaluated; ``reason`` is the counted key."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass
class LoadReport:
    """Counts of one load. ``records`` = rows read; ``kept + sum(skipped) + filtered == records`` when the
    load ran to the end (``limit`` stops it early)."""

    dataset: str = ""
    split: str = ""
    path: str | None = None
    sha256: str | None = None
    records: int = 0
    kept: int = 0
    filtered: int = 0  # rows of another subset (mawps_singleeq reads mawps/test.jsonl): not a data problem
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows left out
    repaired: dict[str, int] = field(default_factory=dict)  # reason -> golds fixed (meta keeps the raw gold)
    normalized: dict[str, int] = field(default_factory=dict)  # presentation removed: "$...$", "025"
    notes: dict[str, int] = field(default_factory=dict)  # kept but worth knowing: duplicates, long golds
    skipped_ids: dict[str, list[str]] = field(default_factory=dict)  # reason -> "line N (id)" of each skip

    def skip(self, reason: str, where: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        self.skipped_ids.setdefault(reason, []).append(where)

    def tally(self, meta: dict) -> None:
        """Count what a converter recorded in a kept problem's meta."""
        for reason in meta.get("repaired", ()):
            self.repaired[reason] = self.repaired.get(reason, 0) + 1
        for kind in meta.get("gold_normalized", ()):
            self.normalized[kind] = self.normalized.get(kind, 0) + 1

    def note(self, counts: Counter) -> None:
        for key, n in counts.items():
            if n:
                self.notes[key] = self.notes.get(key, 0) + n

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "split": self.split,
            "path": self.path,
            "sha256": self.sha256,
            "records": self.records,
            "kept": self.kept,
            "filtered": self.filtered,
            "skipped": dict(self.skipped),
            "repaired": dict(self.repaired),
            "normalized": dict(self.normalized),
            "notes": dict(self.notes),
            "skipped_ids": {k: list(v) for k, v in self.skipped_ids.items()},
        }
