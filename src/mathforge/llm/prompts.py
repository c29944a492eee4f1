"""Versioned teacher prompt files: ``<method>.v<N>.txt`` with a ``#`` header line and ``{{placeholders}}``.

The header names the method, how its answer is known and the paper it follows; ``{{question}}``,
``{{answer}}`` and ``{{solution}}`` are filled in. A stage keeps its prompt files in its own package
(``mathforge/augment/prompts`` for question methods, ``mathforge/synthesize/prompts`` for solutions) and
loads them with :func:`load_prompt`; the version is recorded in every row made with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Prompt:
    method: str
    version: int
    template: str
    header: str

    @property
    def name(self) -> str:
        return f"{self.method}.v{self.version}"

    def render(self, question: str, answer: str | None = None, solution: str | None = None) -> str:
        values = {
            "question": question.strip(),
            "answer": (answer or "").strip(),
            "solution": (solution or "").strip(),
        }
        text = self.template
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        if "{{" in text:
            left = re.findall(r"{{\w+}}", text)
            raise ValueError(f"prompt {self.name} has an unknown placeholder: {left}")
        return text


def load_prompt(method: str, folder: str | Path, version: int | None = None) -> Prompt:
    """The prompt file of ``method`` in ``folder`` (the highest version unless ``version`` is given)."""
    folder = Path(folder)
    versions = sorted(
        int(m.group(1))
        for p in folder.glob(f"{method}.v*.txt")
        if (m := re.fullmatch(rf"{method}\.v(\d+)\.txt", p.name))
    )
    if not versions:
        raise ValueError(f"no prompt file for method {method!r} in {folder}")
    v = version if version is not None else versions[-1]
    if v not in versions:
        raise ValueError(f"prompt {method}.v{v} not found (have versions {versions})")
    raw = (folder / f"{method}.v{v}.txt").read_text(encoding="utf-8")
    header, _, body = raw.partition("\n") if raw.startswith("#") else ("", "", raw)
    return Prompt(method, v, body.strip() + "\n", header.lstrip("# ").strip())
