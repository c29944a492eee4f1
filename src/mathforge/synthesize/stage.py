"""The stage of this package in the registry: ``synthesize``."""

from mathforge.registry import Stage
from mathforge.synthesize.config import SynthesizeConfig

STAGES = [
    Stage(
        "synthesize",
        SynthesizeConfig,
        run="mathforge.synthesize.runner:run",
        report="mathforge.stage_output:report_failed_requests",
        help="k CoT + k code-nested solutions per question from a teacher LLM, then filters "
        "(answer check / majority vote, dedup, test-set decontamination)",
        description="Synthesize solutions with a teacher behind an OpenAI-compatible server (or a model folder "
        "in-process). Code-nested paths run in the sandbox through the tool-integrated loop (the teacher may fix "
        "its code after an error). Questions with a known answer are filtered by it; new ones (gold null) by "
        "majority vote. Writes OUT (solution rows), OUT.samples.jsonl (every sample; re-running resumes) and "
        "OUT.stats.json.",
    ),
]
