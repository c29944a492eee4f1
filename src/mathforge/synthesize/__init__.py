"""mathforge.synthesize: CoT and code-nested solutions from a teacher, then filters (``mathforge synthesize``).

:func:`generate_cot`, :func:`generate_code` (through ``mathforge.infer.run_tir``, with self-debug turns),
:func:`filter_samples` (gold / majority vote, RFT equation-list and normalised-AST dedup, n-gram
decontamination against the test sets: :class:`NgramIndex`, :func:`test_set_index`).
"""

from mathforge.synthesize.config import SynthesizeConfig
from mathforge.synthesize.filters import NgramIndex, code_key, cot_key, majority, test_set_index
from mathforge.synthesize.runner import run
from mathforge.synthesize.synth import filter_samples, generate_code, generate_cot, load_questions

__all__ = [
    "NgramIndex",
    "SynthesizeConfig",
    "code_key",
    "cot_key",
    "filter_samples",
    "generate_code",
    "generate_cot",
    "load_questions",
    "majority",
    "run",
    "test_set_index",
]
