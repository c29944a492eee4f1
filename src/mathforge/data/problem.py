"""The one record every stage passes around: a math problem with its gold answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Problem:
    id: str
    question: str
    gold: str  # the final answer as a string ("18", "\\frac{1}{2}", "(1,2]")
    solution: str | None = None  # the reference worked solution, when the dataset has one
    dataset: str = ""
    split: str = ""
    # MATH: {"subject": "Algebra", "level": 3}; other sets keep their extra fields (e.g. SVAMP "type")
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict) -> Problem:
        return cls(
            **{
                k: row[k]
                for k in ("id", "question", "gold", "solution", "dataset", "split", "meta")
                if k in row
            }
        )
