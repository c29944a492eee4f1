"""The grading settings a stage exposes (``grade_*`` keys), declared once for evaluate, grade and synthesis."""

from __future__ import annotations

from mathforge.config import Config, setting


class GraderConfig(Config):
    """How answers are compared with golds: see :class:`mathforge.answer.Grader`."""

    grade_workers: int | None = setting(
        None, "grading processes for answers that need math-verify (default: min(4, CPU count))"
    )
    grade_timeout: float = setting(
        5.0, "seconds per (answer, gold) pair before its grading process is killed and the pair graded false"
    )
    percent: bool = setting(False, "percentage leniency: also accept gold x 100 and gold / 100")

    def make_grader(self):
        """A :class:`~mathforge.answer.Grader` with these settings (the caller closes it)."""
        from mathforge.answer.grader import Grader

        return Grader(workers=self.grade_workers, timeout=self.grade_timeout, percent=self.percent)
