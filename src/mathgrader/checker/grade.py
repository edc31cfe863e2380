"""`grade()`: the verdict on one answer, and `grade_item()`, the same for one batch/API item."""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .options import GradeOptions

if TYPE_CHECKING:
    from .equivalence import Checker, Peers

__all__ = ["VERDICTS", "Grade", "grade", "grade_item", "prepare_item", "share_results",
           "warm_up"]

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
    if checker is None:
        checker = _equivalence()._DEFAULT  # looked up each time: tests swap it
    return checker.check(reference, answer, options)


@functools.cache
def _equivalence() -> ModuleType:
    """The checker's module, imported on first use (`preview` never loads the checker). Kept
    here because an import statement in `grade_with` cost a repeated answer, whose check is one
    cache lookup, as much as that lookup three times over."""
    from . import equivalence

    return equivalence


def grade_item(item: Any, checker: Checker | None = None) -> Grade:
    """Grade one decoded JSON item `{"reference", "answer", "options"}`.

    Never raises on bad data: a malformed item is verdict `error`.
    """
    if type(item) is not dict and not isinstance(item, Mapping):  # a dict: no ABC check
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


# What `checker.special` values without SymPy: numbers, operators, oo, zoo and nan.
_SPECIAL_CONSTANT_CHARACTERS = frozenset("0123456789.+-*/^() \tozan")
# oo, zoo or nan as names (not inside root or floor).
_SPECIAL_NAME = re.compile(r"(?<![A-Za-z0-9_])(?:z?oo|nan)(?![A-Za-z0-9_])")


def _may_need_sympy(item: Mapping[str, Any]) -> bool:
    options = item.get("options")
    if ((type(options) is dict or isinstance(options, Mapping))
            and options.get("form") not in (None, "any")):
        return True  # form checks factor and simplify with SymPy
    for key in ("reference", "answer"):
        text = item.get(key)
        if (isinstance(text, str) and ("oo" in text or "nan" in text)
                and _SPECIAL_NAME.search(text)
                and not _SPECIAL_CONSTANT_CHARACTERS.issuperset(text)):
            return True  # oo, zoo or nan beside variables or functions: compared by SymPy
    return False


def prepare_item(item: Any) -> None:
    """Import SymPy before grading an item whose check will likely need it.

    Batch workers start without SymPy (its import is most of their start-up, and most lines
    never need it) and call this before each line's time budget starts (`grade_item.prepare`),
    so the import is not counted against the first line that uses it. A check this does not
    foresee (an exact constant too large for mpmath) imports SymPy itself.
    """
    # Called before every batch line, repeated answers included: a dict skips the ABC check.
    if ("sympy" not in sys.modules and (type(item) is dict or isinstance(item, Mapping))
            and _may_need_sympy(item)):
        warm_up(sympy=True)


def warm_up(*, sympy: bool) -> None:
    """Load what checks need: the parser and the numpy and mpmath kits, and with `sympy` also
    SymPy and the parts of it that form checks use (their first use costs a tenth of a second
    more than the import)."""
    grade("x^2 + 1", "1 + x*x", **({"form": "factored"} if sympy else {}))


def share_results(peers: Peers | None) -> None:
    """Let this process's default checker share finished results with the other workers of a
    batch pool through `peers` (a `mathgrader.batch.peers.PeerView`), or stop (None).

    Batch workers call it once when they start (`grade_item.share`): without it, every worker
    checks each distinct answer of a batch once for itself.
    """
    _equivalence()._DEFAULT.peers = peers


grade_item.prepare = prepare_item  # type: ignore[attr-defined]  # read by the batch workers
grade_item.share = share_results  # type: ignore[attr-defined]  # read by the batch workers


def _bad_item(message: str) -> Grade:
    return Grade("error", 0.0, message, {"code": "bad_item", "message": message})
