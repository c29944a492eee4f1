"""The settings of ``mathforge merge``."""

from __future__ import annotations

from mathforge.answer.config import GraderConfig
from mathforge.config import setting


class MergeConfig(GraderConfig):
    """Join the shards of one output: an evaluate folder's ``shard-I-of-N/`` parts, or a file's
    ``OUT.shard-I-of-N.jsonl`` parts (augment, synthesize, ovm data)."""

    out: str = setting(
        help="the unsharded output: an evaluate folder, or the JSONL file the shards were named after",
        io="out",
        positional=True,
    )
    partial: bool = setting(
        False, "write what the shards hold even when some work is missing (marked partial; exit code 1)"
    )
