"""mathforge.train: offline tiny base models and staged SFT (stage 1 CoT, stage 2 code-nested).

* :func:`init_model` -- byte-level BPE tokenizer + random Llama in HF format (``mathforge init-model``).
* :func:`train` -- run a recipe's stages with TRL; each stage starts from the previous one (``mathforge train``).
* :func:`encode_example` -- tokenization with prompt and interpreter-output tokens masked via offsets.
"""

from mathforge.train.config import (
    InitModelConfig,
    LoraConfig,
    StageConfig,
    TrainConfig,
    TrainRecipe,
    load_recipe,
)
from mathforge.train.init_model import SIZES, build_tokenizer, init_model
from mathforge.train.masking import IGNORE, Encoded, encode_example
from mathforge.train.stages import SUMMARY, build_trainer, encode_dataset, run, run_stage, train

__all__ = [
    "IGNORE",
    "SIZES",
    "SUMMARY",
    "Encoded",
    "InitModelConfig",
    "LoraConfig",
    "StageConfig",
    "TrainConfig",
    "TrainRecipe",
    "build_tokenizer",
    "build_trainer",
    "encode_dataset",
    "encode_example",
    "init_model",
    "load_recipe",
    "run",
    "run_stage",
    "train",
]
