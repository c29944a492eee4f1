"""Problems and their gold answers, loaded by dataset name, local file, or hub id.

>>> problems = load_problems("gsm8k", split="test", data_dir="/work/shared/data", limit=2)
>>> problems[0].gold
'18'
"""

from mathforge.data.loaders import (
    DATASETS,
    canonical_number,
    data_dir,
    dataset_file,
    load_dataset_report,
    load_problems,
)
from mathforge.data.problem import Problem
from mathforge.data.report import LoadReport, SkipRecord
from mathforge.io import file_sha256

__all__ = [
    "Problem",
    "load_problems",
    "load_dataset_report",
    "LoadReport",
    "SkipRecord",
    "dataset_file",
    "file_sha256",
    "data_dir",
    "DATASETS",
    "canonical_number",
]
