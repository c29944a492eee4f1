"""The stages of this package in the registry: ``data show`` and ``data stats``."""

from mathforge.data.inspect import DataShowConfig, DataStatsConfig
from mathforge.registry import Stage

STAGES = [
    Stage(
        "data show",
        DataShowConfig,
        run="mathforge.data.inspect:show",
        report="mathforge.data.inspect:print_problems",
        help="print problems of a dataset (a name or a .json/.jsonl path)",
        description="Print problems as mathforge loads them: gold answers extracted, ids assigned.",
    ),
    Stage(
        "data stats",
        DataStatsConfig,
        run="mathforge.data.inspect:stats",
        report="mathforge.data.inspect:print_stats",
        help="count problems per dataset and split (by subject and level; kept, skipped and why, repaired)",
    ),
]
