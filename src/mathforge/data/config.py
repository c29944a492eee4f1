"""Which problems a stage reads (``dataset``, ``split``, ``limit``, ``data_dir``), declared once."""

from __future__ import annotations

from mathforge.config import Config, setting


class ProblemsConfig(Config):
    """A dataset by name (resolved in the data folder) or a local file of problems."""

    dataset: str | None = setting(
        None,
        "dataset name (gsm8k, math, math500, svamp, asdiv, gsm_hard, ...: `mathforge data stats` lists them) "
        "or a JSON/JSONL file of problems",
        io="in",
        kind="dataset",
        resume=True,
    )
    split: str = setting("test", "dataset split")
    limit: int | None = setting(None, "use only the first N problems")
    data_dir: str | None = setting(
        None, "datasets folder (default: $MATHFORGE_DATA_DIR)", io="in", kind="dir"
    )

    def load_problems(self) -> list:
        """The problems (``mathforge.data.Problem``); a DataError when none is named or found."""
        from mathforge.data.loaders import load_problems
        from mathforge.io import DataError

        if not self.dataset:
            raise DataError("give --dataset NAME (or a problem file)", field="dataset")
        problems = load_problems(self.dataset, split=self.split, data_dir=self.data_dir, limit=self.limit)
        if not problems:
            raise DataError("no problems: the file or split is empty", self.dataset, field="dataset")
        return problems
