"""mathforge.augment: training data from GSM8K chains (no LLM) and from a teacher LLM.

LLM-free (``mathforge augment code|audit|perturb``):

* :func:`parse_chain` reads a GSM8K solution's ``<<expr=value>>`` steps (and unannotated prose arithmetic);
  :func:`prepare` / :func:`convert_many` turn it into a sandbox-verified code-nested (ToRA) solution;
* :func:`audit_answer` lists label errors (wrong arithmetic, chains that miss the ``####`` answer);
* :func:`perturb_many` draws new numbers, re-executes the chain and renders new question + solutions.

Teacher (``mathforge augment teacher``): versioned prompt files under ``prompts/`` (loaded with
:func:`mathforge.llm.prompts.load_prompt`), :func:`parse_reply` and :func:`augment_questions`.
Each stage's settings are in :mod:`mathforge.augment.config`, its ``run(cfg)`` in :mod:`mathforge.augment.stages`.
"""

from mathforge.augment.audit import audit_answer
from mathforge.augment.chain import evaluate, parse_chain
from mathforge.augment.convert import prepare
from mathforge.augment.perturb import analyse, perturb_many, perturb_parallel
from mathforge.augment.pipeline import convert_many, load_gsm8k
from mathforge.augment.teacher import (
    METHODS,
    MUGGLEMATH,
    ReplyError,
    augment_questions,
    parse_reply,
)

__all__ = [
    "METHODS",
    "MUGGLEMATH",
    "ReplyError",
    "analyse",
    "audit_answer",
    "augment_questions",
    "convert_many",
    "evaluate",
    "load_gsm8k",
    "parse_chain",
    "parse_reply",
    "perturb_many",
    "perturb_parallel",
    "prepare",
]
