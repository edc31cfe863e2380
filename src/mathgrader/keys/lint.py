"""`key lint`: the instructor's unit test for a quiz.

Every reference must be usable (graded against itself, it is not an `error` or a `timeout`),
every `accept` example must grade correct and every `reject` example must not. One result per
question, saying what failed and the verdict it got.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..checker.grade import grade_item
from .model import AnswerKey, Question

__all__ = ["QuestionReport", "lint_key"]


@dataclass(frozen=True, slots=True)
class QuestionReport:
    question: Question
    failures: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.failures

    def line(self) -> str:
        q = self.question
        if self.ok:
            return (f"ok    {q.full_id} ({len(q.accept)} accept, {len(q.reject)} reject)")
        return f"FAIL  {q.full_id}: " + "; ".join(self.failures)


def lint_question(question: Question) -> QuestionReport:
    failures = []
    for reference in question.references:
        # A reference the checker cannot use (undefined everywhere, too large) would make every
        # learner's answer an error; a form option may still fail it, which is the author's call.
        result = grade_item(question.grading_item(reference))
        if result.verdict in ("error", "timeout"):
            failures.append(f"the reference {reference!r} cannot be graded "
                            f"({result.verdict}: {result.feedback})")
    for answer in question.accept:
        result = grade_item(question.grading_item(answer))
        if result.verdict != "correct":
            why = f" ({result.feedback})" if result.feedback else ""
            failures.append(f"accept {answer!r} graded {result.verdict}{why}")
    for answer in question.reject:
        result = grade_item(question.grading_item(answer))
        if result.verdict == "correct":
            failures.append(f"reject {answer!r} graded correct")
        elif result.verdict in ("error", "timeout"):
            failures.append(f"reject {answer!r} graded {result.verdict}: {result.feedback}")
    return QuestionReport(question, tuple(failures))


def lint_key(key: AnswerKey) -> list[QuestionReport]:
    return [lint_question(question) for question in key.questions]
