"""`key lint`: the instructor's unit test for a quiz.

Every reference must be usable (graded against itself, it is not an `error` or a `timeout`),
every `accept` example must grade correct and every `reject` example must not, and must parse:
an example that does not even parse can never grade correct, so it tests nothing. One result per
question; each failure names the file, the line and column of the string, and the question.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..checker.grade import grade_item
from .model import AnswerKey, Question

__all__ = ["Failure", "QuestionReport", "lint_key", "lint_problems", "lint_question"]

# Input errors that mean "this is not an expression": a reject example failing with one of these
# is a typo. Errors that name a learner's mistake (`3x`, `sin x`, `Sin(x)`), a form or a size
# limit do test something: that such an answer gets that message rather than credit.
_DOES_NOT_PARSE = frozenset({"syntax", "empty", "unbalanced_parentheses", "unsupported_character"})


@dataclass(frozen=True, slots=True)
class Failure:
    """One thing that does not hold, at the line and column of the string it is about."""

    message: str
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True, slots=True)
class QuestionReport:
    question: Question
    failures: tuple[Failure, ...] = field(default=())
    path: str = ""

    @property
    def ok(self) -> bool:
        return not self.failures

    def lines(self) -> list[str]:
        """`ok ...` for a question that passes, else one `FAIL FILE:LINE:COL: ...` per failure."""
        q = self.question
        if self.ok:
            return [f"ok    {q.full_id} ({len(q.accept)} accept, {len(q.reject)} reject)"]
        lines = []
        for failure in self.failures:
            where = self.path
            if failure.line is not None:
                where += f":{failure.line}"
                if failure.column is not None:
                    where += f":{failure.column}"
            lines.append(f"FAIL  {where}: {q.full_id}: {failure.message}")
        return lines

    def line(self) -> str:
        return "\n".join(self.lines())


def lint_question(question: Question, path: str = "") -> QuestionReport:
    failures = []

    def fail(message: str, role: str, index: int) -> None:
        failures.append(Failure(message, *question.place(role, index)))

    for i, reference in enumerate(question.references):
        # A reference the checker cannot use (undefined everywhere, too large) would make every
        # learner's answer an error; a form option may still fail it, which is the author's call.
        result = grade_item(question.grading_item(reference))
        if result.verdict in ("error", "timeout"):
            fail(f"the reference {reference!r} cannot be graded "
                 f"({result.verdict}: {result.feedback})", "reference", i)
    for i, answer in enumerate(question.accept):
        result = grade_item(question.grading_item(answer))
        if result.verdict != "correct":
            why = f" ({result.feedback})" if result.feedback else ""
            fail(f"accept {answer!r} graded {result.verdict}{why}", "accept", i)
    for i, answer in enumerate(question.reject):
        result = grade_item(question.grading_item(answer))
        code = (result.error or {}).get("code")
        if result.verdict == "correct":
            fail(f"reject {answer!r} graded correct", "reject", i)
        elif result.verdict in ("error", "timeout"):
            fail(f"reject {answer!r} graded {result.verdict}: {result.feedback}", "reject", i)
        elif result.verdict == "invalid" and code in _DOES_NOT_PARSE:
            fail(f"reject {answer!r} does not parse ({result.feedback}), so it tests nothing: "
                 "write the wrong answer a learner would give", "reject", i)
    return QuestionReport(question, tuple(failures), path)


def lint_key(key: AnswerKey) -> list[QuestionReport]:
    return [lint_question(question, key.path) for question in key.questions]


def lint_problems(keys: Iterable[AnswerKey]) -> list[str]:
    """The FAIL lines of every question that does not lint, for refusing keys that are to grade
    learners (`serve`, `grade-batch --key`): an accept example graded wrong means the key would
    grade learners wrong too."""
    return [report.line() for key in keys for report in lint_key(key) if not report.ok]
