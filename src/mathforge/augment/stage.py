"""The stages of this package in the registry: ``augment code|audit|perturb|rationale|teacher``."""

from mathforge.augment.config import (
    AugmentAuditConfig,
    AugmentCodeConfig,
    AugmentPerturbConfig,
    AugmentRationaleConfig,
    AugmentTeacherConfig,
)
from mathforge.registry import Stage

STAGES = [
    Stage(
        "augment code",
        AugmentCodeConfig,
        run="mathforge.augment.stages:run_code",
        help="GSM8K chains -> code-nested (ToRA) solutions, kept only if execution gives the gold",
        description="Turn each GSM8K rationale's calculator annotations (<<a*b=c>>) into a program, run it in "
        "the sandbox, and keep the code-nested solution when its output equals the gold. Rejected problems go "
        "to OUT.rejects.jsonl with a reason; OUT.stats.json has the counts. Re-running resumes.",
    ),
    Stage(
        "augment audit",
        AugmentAuditConfig,
        run="mathforge.augment.stages:run_audit",
        help="GSM8K label audit: wrong arithmetic, chains that miss the #### answer",
    ),
    Stage(
        "augment perturb",
        AugmentPerturbConfig,
        run="mathforge.augment.stages:run_perturb",
        help="numeric perturbation: new numbers, re-executed chain, new gold",
        description="Draw new numbers for each GSM8K problem (same shape), re-execute its chain, and keep a "
        "variant only if it stays valid; each variant has the new question, a GSM8K-style rationale and a "
        "code-nested solution. Re-running resumes.",
    ),
    Stage(
        "augment rationale",
        AugmentRationaleConfig,
        run="mathforge.augment.stages:run_rationale",
        help="stage-1 CoT rows from gold rationales (GSM8K: annotations stripped, #### answer boxed; MATH)",
        description="Turn a dataset's own worked solutions into CoT training rows: GSM8K rationales lose their "
        "<<a*b=c>> calculator annotations and end with 'The answer is \\boxed{X}.'; MATH solutions are kept "
        "as written. Works on any GSM8K-format file too (e.g. augment perturb's variants).",
    ),
    Stage(
        "augment teacher",
        AugmentTeacherConfig,
        run="mathforge.augment.stages:run_teacher",
        report="mathforge.stage_output:report_failed_requests",
        help="new questions from a teacher LLM (rephrase, alter, FOBAR, BF-Trans, expression replacement, "
        "harder, MuggleMath's five evolutions)",
        description="Ask a teacher model behind an OpenAI-compatible server for new questions. Unusable replies "
        "go to OUT.rejects.jsonl with a reason; failed requests are counted (exit code 1) and retried by a "
        "re-run; the request cache makes a re-run free.",
    ),
]
