"""Problems and their gold answers, loaded by dataset name, local file, or hub id.

>>> problems = load_problems("gsm8k", split="test", data_dir="/work/shared/data", limit=2)
>>> problems[0].gold
'18'
"""

from mathforge.data.loaders import DATASETS, canonical_number, data_dir, load_problems
from mathforge.data.problem import Problem

__all__ = ["Problem", "load_problems", "data_dir", "DATASETS", "canonical_number"]
