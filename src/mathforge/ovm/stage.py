"""The stages of this package in the registry: ``ovm data`` and ``ovm rerank``."""

from mathforge.evaluate.rerank_run import RerankConfig
from mathforge.ovm.data import OvmDataConfig
from mathforge.registry import Stage

STAGES = [
    Stage(
        "ovm data",
        OvmDataConfig,
        run="mathforge.ovm.data:run",
        help="a value model's training data: K graded samples per train problem, correct and wrong",
        description="Sample K solutions per train problem with the tool-integrated loop (OUT.samples/: an "
        "evaluate run, resumable), grade each, drop duplicates (normalised code and answer) and write value rows "
        "(solution + correct) with the problem's accuracy; optionally balanced. Train the value model with a "
        "train stage of type ovm on OUT.",
    ),
    Stage(
        "ovm rerank",
        RerankConfig,
        run="mathforge.evaluate.rerank_run:run",
        help="rerank a sampled evaluate run with a value model: OVM@k, value-weighted vote, maj@k, pass@k",
        description="Score every sample of an evaluate run (n > 1) with a value model and report, for k = 1, 2, "
        "4, ..., the accuracy of majority voting, OVM@k (the highest value), the value-weighted vote, majority "
        "with a value tie-break and the outlier-free rule, beside pass@k; plus the value's AUROC and a "
        "calibration diagram. Writes scores.jsonl, rerank.json, rerank.md, rerank_k.png, calibration.png.",
    ),
]
