"""mathforge.augment: training data from GSM8K chains (no LLM) and from a teacher LLM.

LLM-free (``mathforge augment code|audit|perturb``):

* :func:`parse_chain` reads a GSM8K solution's ``<<expr=value>>`` steps (and unannotated prose arithmetic);
  :func:`prepare` / :func:`convert_many` turn it into a sandbox-verified code-nested (ToRA) solution;
* :func:`audit_answer` lists label errors (wrong arithmetic, chains that miss the ``####`` answer);
* :func:`perturb_many` draws new numbers, re-executes the chain and renders new question + solutions.

Teacher (``mathforge augment teacher``): :func:`load_prompt` (versioned prompt files under ``prompts/``),
:func:`parse_reply`, :func:`augment_questions`, and :class:`CachedBackend` (on-disk request cache).
"""

from mathforge.augment.audit import audit_answer
from mathforge.augment.cache import CachedBackend, RequestCache
from mathforge.augment.chain import evaluate, parse_chain
from mathforge.augment.convert import prepare
from mathforge.augment.perturb import analyse, perturb_many, perturb_parallel
from mathforge.augment.pipeline import convert_many, load_gsm8k
from mathforge.augment.teacher import (
    METHODS,
    MUGGLEMATH,
    ReplyError,
    augment_questions,
    load_prompt,
    parse_reply,
)

__all__ = [
    "METHODS",
    "MUGGLEMATH",
    "CachedBackend",
    "ReplyError",
    "RequestCache",
    "analyse",
    "audit_answer",
    "augment_questions",
    "convert_many",
    "evaluate",
    "load_gsm8k",
    "load_prompt",
    "parse_chain",
    "parse_reply",
    "perturb_many",
    "perturb_parallel",
    "prepare",
]
