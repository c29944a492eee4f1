"""The settings of ``mathforge study scaling``."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from mathforge.answer.config import GraderConfig
from mathforge.config import Config, setting
from mathforge.infer.config import LoopConfig
from mathforge.llm.config import SamplingConfig
from mathforge.sandbox.config import SandboxConfig


class ScalingStudyConfig(LoopConfig, SamplingConfig, SandboxConfig, GraderConfig, Config):
    """MuggleMath's scaling experiment: nested subsets of augmented data, one SFT each, every model evaluated
    on every test set, fits and plots."""

    out: str = setting("runs/study", "output folder: runs/<subset>/ (train.jsonl, train/, eval/<dataset>/), "
                       "results.json, report.md, scaling.png, transfer.png, types.png", io="out", kind="dir")  # fmt: skip
    data: list[str] = setting(help="augmented solution rows (tagged: aug_type or method, source_id)", io="in")
    original: list[str] = setting(
        [], "solution rows every subset also trains on (e.g. the seed set's own solutions)", io="in"
    )
    base_model: str = setting(help="the model every subset's SFT starts from", io="in", kind="model")
    train_stage: dict = setting(
        {}, "settings of the one SFT stage every subset runs (a train stage; name and data are filled in)",
        cli=False,
    )  # fmt: skip
    axes: list[Literal["queries", "responses"]] = setting(
        ["queries"], "the grid's axes: number of augmented queries, and responses per query"
    )
    queries: list[int] = setting(
        [], "the query-count grid (default: grid_points sizes, log-spaced up to all)"
    )
    responses: list[int] = setting(
        [], "the responses-per-query grid (default: 1 up to the most any query has)"
    )
    grid_points: int = setting(4, "points of a default grid", ge=2)
    smallest: int = setting(8, "smallest size of a default query grid", ge=1)
    by_type: bool = setting(True, "also train one model per augmentation type at an equal data budget")
    type_budget: int | None = setting(
        None, "rows per type for the per-type runs (default: the smallest type's)"
    )
    eval_datasets: list[str] = setting(
        help="test sets; the first is the in-domain one", io="in", kind="dataset"
    )
    eval_split: str = setting("test", "split of every test set")
    eval_limit: int | None = setting(None, "evaluate on the first N problems of each test set only")
    data_dir: str | None = setting(
        None, "datasets folder (default: $MATHFORGE_DATA_DIR)", io="in", kind="dir"
    )
    batch_size: int = setting(16, "evaluation: sequences per forward batch")
    subset_seed: int = setting(0, "seed of the query order that makes the nested subsets")
    bootstrap: int = setting(1000, "bootstrap resamples of the test problems for the slope's interval", ge=10)

    @model_validator(mode="after")
    def _grid_sizes_positive(self):
        if any(n < 1 for n in [*self.queries, *self.responses]):
            raise ValueError("grid sizes must be positive")
        return self
