"""This package's verb in the registry: ``merge``."""

from mathforge.merge.config import MergeConfig
from mathforge.registry import Stage

STAGES = [
    Stage(
        "merge",
        MergeConfig,
        run="mathforge.merge.runner:run",
        report="mathforge.merge.runner:report",
        help="join the shards of a sharded run (--shard I/N) into one output, checking that none is missing",
        description="Join the shards a stage wrote with --shard I/N: an evaluate folder OUT (OUT/shard-I-of-N/) "
        "gets OUT/predictions.jsonl in the dataset's order, metrics.json computed from the merged rows, "
        "report.md and config.json; a file OUT.jsonl (augment, synthesize, ovm data) gets its rows, rejects and samples "
        "from OUT.shard-I-of-N.*, in the loaded order, and summed stats. Nothing is written while a shard or an "
        "item is missing (they are named; exit code 1) unless --partial. With deterministic decoding the "
        "merged rows are those of the unsharded run.",
    ),
]
