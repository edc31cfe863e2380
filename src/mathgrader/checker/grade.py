"""`grade()`: the verdict on one answer, and `grade_item()`, the same for one batch/API item."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .options import GradeOptions

if TYPE_CHECKING:
    from .equivalence import Checker

__all__ = ["VERDICTS", "Grade", "grade", "grade_item"]

VERDICTS = ("correct", "incorrect", "invalid", "error", "timeout")


@dataclass(frozen=True, slots=True)
class Grade:
    verdict: str
    score: float
    feedback: str | None = None
    error: dict[str, Any] | None = None

    @property
    def correct(self) -> bool:
        return self.verdict == "correct"

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "score": self.score,
            "feedback": self.feedback,
            "error": self.error,
        }


def grade(reference: str, answer: str, **options: Any) -> Grade:
    """Grade `answer` against `reference`.

    Learner mistakes come back as verdict `invalid` with the located error; an unusable
    reference or option is verdict `error`. Only `InputError`/`ConfigError` are turned into
    verdicts: anything else is a bug and propagates.

    >>> grade("3*x^2 + 2", "2 + 3*x*x").verdict
    'correct'
    >>> grade("5*x", "5x").error["hint"]
    'write 5*x'
    """
    try:
        parsed_options = GradeOptions.from_mapping(options)
    except ConfigError as exc:
        return Grade("error", 0.0, exc.message, exc.to_dict())
    return grade_with(reference, answer, parsed_options)


def grade_with(reference: str, answer: str, options: GradeOptions,
               checker: Checker | None = None) -> Grade:
    """Grade with validated options; `checker` holds the caches (a process default if None)."""
    from .equivalence import check

    if checker is not None:
        return checker.check(reference, answer, options)
    return check(reference, answer, options)


def grade_item(item: Any, checker: Checker | None = None) -> Grade:
    """Grade one decoded JSON item `{"reference", "answer", "options"}`.

    Never raises on bad data: a malformed item is verdict `error`.
    """
    if not isinstance(item, Mapping):
        return _bad_item("each line must be a JSON object")
    reference, answer = item.get("reference"), item.get("answer")
    if not isinstance(reference, str):
        return _bad_item('the item needs a "reference" string')
    if not isinstance(answer, str):
        return _bad_item('the item needs an "answer" string')
    try:
        options = GradeOptions.from_mapping(item.get("options") or {})
    except ConfigError as exc:
        return Grade("error", 0.0, exc.message, exc.to_dict())
    return grade_with(reference, answer, options, checker)


def _bad_item(message: str) -> Grade:
    return Grade("error", 0.0, message, {"code": "bad_item", "message": message})
