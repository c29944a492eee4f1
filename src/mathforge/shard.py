"""``--shard I/N``: one process does one N-th of a stage's work, and ``mathforge merge`` joins the parts.

Which work: the items at positions I, I+N, I+2N, ... of the stage's loaded order (after ``--limit``), so
shards differ in size by one at most and the order of the whole is known from the parts (position =
I + k*N for a shard's k-th item). Every shard must load the same items in the same order: the merge
checks that the shards agree on the total, on the settings that change what a row is, and (evaluate) on the
dataset file's sha256.

Where: each shard writes beside the unsharded output, named for its shard: a folder output ``OUT`` (evaluate)
becomes ``OUT/shard-I-of-N/``; a file output ``OUT.jsonl`` becomes ``OUT.shard-I-of-N.jsonl`` (and its
rejects, stats, samples files follow, as ``OUT.shard-I-of-N.rejects.jsonl`` ...). Each is the stage's
ordinary append-only output, so a killed shard resumes by running the same command again.

A shard's manifest (``shard.json`` in the folder, ``OUT.shard-I-of-N.shard.json`` beside a file) records the
shard, the total, its item ids in order, which row field names the item in each output file, and whether
the shard finished (with the items whose work failed, which a re-run retries).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import field_validator

from mathforge.config import Config, setting
from mathforge.io import write_json

_SPEC = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")
MANIFEST = "shard.json"
MANIFEST_SUFFIX = ".shard.json"


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        m = _SPEC.fullmatch(str(text))
        if not m:
            raise ValueError(f"a shard is I/N (e.g. 0/4), got {text!r}")
        index, count = int(m.group(1)), int(m.group(2))
        if count < 1 or not 0 <= index < count:
            raise ValueError(f"shard {index}/{count}: I counts from 0 and must be below N")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def label(self) -> str:
        return f"shard-{self.index}-of-{self.count}"

    def select(self, items: list) -> list:
        return list(items)[self.index :: self.count]

    def size(self, total: int) -> int:
        """How many of ``total`` items fall to this shard."""
        return len(range(self.index, total, self.count))


class ShardConfig(Config):
    """Sharding: this process does one part of the work (``mathforge merge`` joins the parts)."""

    shard: str | None = setting(
        None,
        "do only shard I of N (0 <= I < N): the items at positions I, I+N, I+2N, ... of the loaded order; "
        "the output goes beside OUT, named shard-I-of-N; `mathforge merge OUT` joins the shards",
        metavar="I/N",
    )

    @field_validator("shard")
    @classmethod
    def _valid(cls, value):
        return None if value is None else str(Shard.parse(value))

    def shard_spec(self) -> Shard | None:
        return Shard.parse(self.shard) if self.shard else None

    def shard_items(self, items: list) -> list:
        """This shard's items (all of them when not sharded)."""
        spec = self.shard_spec()
        return list(items) if spec is None else spec.select(items)

    def sharded_file(self, path: str | Path) -> Path:
        """``OUT.jsonl`` -> ``OUT.shard-I-of-N.jsonl`` (unchanged when not sharded)."""
        path, spec = Path(path), self.shard_spec()
        return path if spec is None else shard_file(path, spec)

    def sharded_dir(self, path: str | Path) -> Path:
        """``OUT`` -> ``OUT/shard-I-of-N`` (unchanged when not sharded)."""
        path, spec = Path(path), self.shard_spec()
        return path if spec is None else path / spec.label


def shard_file(path: Path, spec: Shard) -> Path:
    return path.with_name(f"{path.stem}.{spec.label}{path.suffix}")


def file_manifest(path: Path) -> Path:
    """The manifest beside a sharded file output ``OUT.shard-I-of-N.jsonl``."""
    return path.with_name(path.stem + MANIFEST_SUFFIX)


class ShardLedger:
    """A shard's manifest: written when the shard starts (``finished: false``) and again when it ends.

    ``units``: {file suffix: the row field naming the item} for each output file the merge joins, e.g.
    ``{"": "source_id", ".rejects": "id"}`` for ``OUT.shard-0-of-4.jsonl`` and its rejects.
    """

    def __init__(self, path: Path, stage: str, spec: Shard, total: int, ids: list[str], units: dict[str, str],
                 **extra):  # fmt: skip
        self.path = Path(path)
        self.data = {"stage": stage, "shard": str(spec), "index": spec.index, "count": spec.count,
                     "total": total, "ids": [str(i) for i in ids], "units": units, "finished": False,
                     "incomplete": [], **extra}  # fmt: skip
        write_json(self.path, self.data)

    def finish(self, incomplete: list[str] = (), **extra) -> None:
        """The shard ran to its end; ``incomplete``: items whose work failed (a re-run retries them)."""
        self.data.update(finished=True, incomplete=sorted({str(i) for i in incomplete}), **extra)
        write_json(self.path, self.data)


def start_ledger(cfg: ShardConfig, path: Path, stage: str, items: list, ids: list[str], units: dict[str, str],
                 **extra) -> ShardLedger | None:  # fmt: skip
    """A ledger for a sharded run (``items``: the whole loaded list, ``ids``: this shard's item ids), or
    None when the run is not sharded."""
    spec = cfg.shard_spec()
    if spec is None:
        return None
    return ShardLedger(path, stage, spec, len(items), ids, units, **extra)
