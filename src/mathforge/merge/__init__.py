"""``mathforge merge``: join the shards of a stage's output (``--shard I/N``) into the unsharded output."""

from mathforge.merge.config import MergeConfig

__all__ = ["MergeConfig"]
