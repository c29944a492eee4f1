"""mathforge.selftrain: MARIO's self-training round (``mathforge self-train``).

Each round: find the train problems the training data does not cover yet (fewer than ``min_paths``
verified solutions) -> sample K solutions for each with the current generator -> keep the verified ones
(gold-matched where the problem has a gold; majority- or value-filtered where it has none) -> dedup against
everything kept so far, decontaminate against the test sets -> retrain (from the previous round's model on
the new paths, or from the base on all of them) -> evaluate. Every step's output is on disk, so a killed
round resumes where it stopped and never adds a path twice.
"""

from mathforge.selftrain.config import SelfTrainConfig
from mathforge.selftrain.rounds import run

__all__ = ["SelfTrainConfig", "run"]
