"""The instructor's report on a quiz: per question, attempts, share correct and common mistakes.

This module owns how logged submissions become a report. Wrong answers are grouped by
equivalence, so `-2*x` and `-x*2` count as one mistake: an answer joins the first (largest) group
whose representative, taken as the reference, grades it `correct`. Representatives are the
most frequent spelling of their group. Answers that could not be understood are grouped by
their error code. The work is bounded: at most `max_spellings` distinct wrong spellings per
question (most frequent first), comparisons against the largest `compare_groups` groups only,
and an overall time budget; what is left out is counted as `ungrouped`, never silently dropped.

`QuizReport.to_dict()` is the `--json` shape; `render_report()` the terminal one, where learner
text is always plain text (`[bold]` or `<script>` typed by a learner shows as typed).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..checker.equivalence import Checker
from ..checker.grade import VERDICTS, grade_item

if TYPE_CHECKING:
    from rich.console import RenderableType

    from ..keys import AnswerKey, Question
    from .store import SubmissionStore

__all__ = [
    "InvalidGroup",
    "MistakeGroup",
    "QuestionReport",
    "QuizReport",
    "Spelling",
    "build_report",
    "comparison_options",
    "render_report",
]

MAX_SPELLINGS = 200
COMPARE_GROUPS = 50
MAX_VARIANTS = 3
BUDGET_SECONDS = 30.0
COMPARISON_TIMEOUT = 1.0  # per pair of answers; a pair that runs out is not one mistake
# About the right answer (answers, feedback) or its presentation (form, forbid), not about
# whether two wrong answers are the same mistake: `x^2-5*x+6` and `6-5*x+x^2` are one mistake
# on a "factor it" question, and two uses of a forbidden abs() are the same answer.
DROPPED_OPTIONS = ("answers", "feedback", "form", "forbid", "accept", "reject")


@dataclass(frozen=True, slots=True)
class Spelling:
    answer: str
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {"answer": self.answer, "count": self.count}


@dataclass(frozen=True, slots=True)
class MistakeGroup:
    """Wrong answers equivalent to each other, shown by their most frequent spelling."""

    answer: str
    count: int
    share: float  # of the question's wrong answers
    variants: tuple[Spelling, ...]  # the next most frequent spellings
    spellings: int  # distinct spellings in the group
    feedback: str | None  # what learners giving the representative were told, if anything

    def to_dict(self) -> dict[str, Any]:
        return {"answer": self.answer, "count": self.count, "share": round(self.share, 4),
                "variants": [v.to_dict() for v in self.variants], "spellings": self.spellings,
                "feedback": self.feedback}


@dataclass(frozen=True, slots=True)
class InvalidGroup:
    """Answers that could not be understood, by error code (`unknown` when none was logged)."""

    code: str
    count: int
    examples: tuple[Spelling, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "count": self.count,
                "examples": [e.to_dict() for e in self.examples]}


@dataclass(frozen=True, slots=True)
class QuestionReport:
    id: str
    prompt: str | None
    in_key: bool  # False for a question logged but missing from the answer key
    attempts: int
    correct: int
    verdicts: Mapping[str, int]
    mean_score: float | None
    mistakes: tuple[MistakeGroup, ...] = ()
    invalid: tuple[InvalidGroup, ...] = ()
    wrong: int = 0  # answers with verdict incorrect
    wrong_spellings: int = 0  # their distinct spellings
    ungrouped: int = 0  # wrong answers left out of the grouping by the bounds or the budget

    @property
    def share_correct(self) -> float | None:
        return self.correct / self.attempts if self.attempts else None

    def to_dict(self) -> dict[str, Any]:
        share = self.share_correct
        return {
            "id": self.id,
            "prompt": self.prompt,
            "in_key": self.in_key,
            "attempts": self.attempts,
            "correct": self.correct,
            "share_correct": None if share is None else round(share, 4),
            "mean_score": None if self.mean_score is None else round(self.mean_score, 4),
            "verdicts": dict(self.verdicts),
            "wrong": self.wrong,
            "wrong_spellings": self.wrong_spellings,
            "ungrouped": self.ungrouped,
            "mistakes": [m.to_dict() for m in self.mistakes],
            "invalid": [i.to_dict() for i in self.invalid],
        }


@dataclass(frozen=True, slots=True)
class QuizReport:
    quiz: str
    title: str | None
    questions: tuple[QuestionReport, ...]
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    complete: bool = True  # False when the time budget cut the grouping short

    @property
    def attempts(self) -> int:
        return sum(q.attempts for q in self.questions)

    @property
    def correct(self) -> int:
        return sum(q.correct for q in self.questions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "quiz": self.quiz,
            "title": self.title,
            "generated_at": self.generated_at.isoformat(),
            "attempts": self.attempts,
            "correct": self.correct,
            "complete": self.complete,
            "questions": [q.to_dict() for q in self.questions],
        }


def comparison_options(question: Question | None) -> dict[str, Any]:
    """The grading options under which two wrong answers to `question` are one mistake.

    Keeps what defines equality (variable domains, tolerances, list mode, seed); drops
    `answers`, `feedback`, `form` and `forbid` (see DROPPED_OPTIONS); caps the time budget.
    Answers that are not lists are compared as one-element ordered lists: that grades the same
    (a wrong answer to such a question has no top-level comma, or it would be invalid) but
    skips the search for a likely slip, which only feedback needs and which costs several
    times the comparison. Without a key, a comma-separated answer is an ordered list.
    """
    options = {} if question is None else {
        name: value for name, value in question.options.items() if name not in DROPPED_OPTIONS
    }
    options.setdefault("list", "ordered")
    options["timeout"] = min(float(options.get("timeout") or COMPARISON_TIMEOUT),
                             COMPARISON_TIMEOUT)
    return options


def build_report(
    store: SubmissionStore,
    quiz: str,
    key: AnswerKey | None,
    *,
    checker: Checker | None = None,
    max_spellings: int = MAX_SPELLINGS,
    compare_groups: int = COMPARE_GROUPS,
    max_groups: int | None = None,
    budget_seconds: float = BUDGET_SECONDS,
) -> QuizReport:
    """The report on `quiz` from the log; `key` gives prompts, order and grading options.

    Without a key, questions come from the log (sorted) and answers are compared with default
    options. Raises `StoreError` when the database cannot be read.
    """
    checker = checker or Checker()  # one instance: its caches serve every comparison
    counts: dict[str, dict[str, tuple[int, float]]] = {}
    for row in store.verdict_counts(quiz):
        per_question = counts.setdefault(row.question, {})
        count, total = per_question.get(row.verdict, (0, 0.0))
        per_question[row.verdict] = (count + row.count, total + row.score_sum)
    known = {q.id: q for q in key.questions} if key is not None else {}
    order = list(known) + sorted(set(counts) - set(known))
    deadline = time.monotonic() + budget_seconds
    reports = []
    complete = True
    for index, question_id in enumerate(order):
        question = known.get(question_id)
        verdicts = counts.get(question_id, {})
        remaining = max(0.0, deadline - time.monotonic())
        question_deadline = time.monotonic() + remaining / (len(order) - index)
        report, timed_out = _question_report(store, quiz, question_id, question, verdicts,
                                             checker, max_spellings, compare_groups, max_groups,
                                             question_deadline)
        complete &= not timed_out
        reports.append(report)
    return QuizReport(quiz, key.title if key is not None else None, tuple(reports),
                      complete=complete)


def _question_report(
    store: SubmissionStore, quiz: str, question_id: str, question: Question | None,
    verdicts: Mapping[str, tuple[int, float]], checker: Checker, max_spellings: int,
    compare_groups: int, max_groups: int | None, deadline: float,
) -> tuple[QuestionReport, bool]:
    """The question's report, and whether the time budget left wrong answers ungrouped."""
    attempts = sum(count for count, _ in verdicts.values())
    score = sum(total for _, total in verdicts.values())
    wrong = verdicts.get("incorrect", (0, 0.0))[0]
    mistakes: tuple[MistakeGroup, ...] = ()
    spellings = ungrouped = left_out = 0
    if wrong:
        spellings = store.distinct_answers(quiz, question_id, "incorrect")
        top = store.answer_counts(quiz, question_id, "incorrect", limit=max_spellings)
        grouper = _Grouper(checker, question, compare_groups, deadline)
        groups, left_out = grouper.group(_merge_spacing((a.answer, a.count, a.feedback)
                                                        for a in top))
        ungrouped = wrong - sum(g.count for g in groups)  # beyond the top spellings, or late
        shown = groups if max_groups is None else groups[:max_groups]
        mistakes = tuple(g.freeze(wrong) for g in shown)
    invalid: tuple[InvalidGroup, ...] = ()
    if verdicts.get("invalid", (0, 0.0))[0]:
        invalid = _invalid_groups(store, quiz, question_id, max_spellings)
    ordered = {v: verdicts[v][0] for v in VERDICTS if v in verdicts}
    ordered.update({v: c for v, (c, _) in verdicts.items() if v not in ordered})
    return QuestionReport(
        id=question_id,
        prompt=question.prompt if question is not None else None,
        in_key=question is not None,
        attempts=attempts,
        correct=verdicts.get("correct", (0, 0.0))[0],
        verdicts=ordered,
        mean_score=score / attempts if attempts else None,
        mistakes=mistakes,
        invalid=invalid,
        wrong=wrong,
        wrong_spellings=spellings,
        ungrouped=ungrouped,
    ), left_out > 0


def _merge_spacing(
    rows: Iterable[tuple[str, int, str | None]],
) -> list[tuple[str, int, str | None]]:
    """Spellings that differ only in spacing are one spelling (shown with single spaces).

    Only runs of whitespace collapse: removing spaces would change `2 3` into `23`.
    """
    merged: dict[str, list[Any]] = {}
    for answer, count, feedback in rows:
        spelling = " ".join(answer.split())
        entry = merged.setdefault(spelling, [0, None])
        entry[0] += count
        entry[1] = entry[1] or feedback
    return sorted(((a, c, f) for a, (c, f) in merged.items()), key=lambda e: (-e[1], e[0]))


@dataclass
class _Group:
    representative: str
    feedback: str | None
    members: list[Spelling]
    count: int = 0

    def add(self, spelling: Spelling) -> None:
        self.members.append(spelling)
        self.count += spelling.count

    def freeze(self, wrong: int) -> MistakeGroup:
        return MistakeGroup(
            answer=self.representative,
            count=self.count,
            share=self.count / wrong if wrong else 0.0,
            variants=tuple(self.members[1 : 1 + MAX_VARIANTS]),
            spellings=len(self.members),
            feedback=self.feedback,
        )


class _Grouper:
    """Groups the wrong answers of one question by equivalence."""

    def __init__(self, checker: Checker, question: Question | None, compare_groups: int,
                 deadline: float) -> None:
        self.checker = checker
        self.options = comparison_options(question)
        self.compare_groups = compare_groups
        self.deadline = deadline

    def group(self, spellings: list[tuple[str, int, str | None]]) -> tuple[list[_Group], int]:
        """Groups, largest first, and how many answers the time budget left out."""
        groups: list[_Group] = []
        left_out = 0
        for answer, count, feedback in spellings:  # most frequent first
            if time.monotonic() > self.deadline:
                left_out += count
                continue
            spelling = Spelling(answer, count)
            candidates = sorted(groups, key=lambda g: -g.count)[: self.compare_groups]
            home = next((g for g in candidates if self.same(g.representative, answer)), None)
            if home is None:
                home = _Group(answer, feedback, [])
                groups.append(home)
            home.add(spelling)
        groups.sort(key=lambda g: (-g.count, g.representative))
        return groups, left_out

    def same(self, representative: str, other: str) -> bool:
        """Whether `other` grades correct with `representative` as the reference."""
        item = {"reference": representative, "answer": other, "options": self.options}
        return grade_item(item, self.checker).verdict == "correct"


def _invalid_groups(store: SubmissionStore, quiz: str, question_id: str,
                    max_spellings: int) -> tuple[InvalidGroup, ...]:
    examples: dict[str | None, list[Spelling]] = {}
    for row in store.answer_counts(quiz, question_id, "invalid", limit=max_spellings):
        found = examples.setdefault(row.error_code, [])
        if len(found) < MAX_VARIANTS:
            found.append(Spelling(row.answer, row.count))
    return tuple(InvalidGroup(code or "unknown", count, tuple(examples.get(code, [])))
                 for code, count in store.error_counts(quiz, question_id))


# ---------------------------------------------------------------------------------- terminal


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


# Control characters (ESC starts terminal escape sequences) and the bidirectional overrides
# (which reorder what is shown): a learner could steer the instructor's terminal with them.
_UNSHOWABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _shown(text: str) -> str:
    r"""Learner text for a terminal: unshowable characters as their escapes.

    >>> _shown("x\x1b[31m+1\u202e")
    'x\\x1b[31m+1\\u202e'
    """
    return _UNSHOWABLE.sub(lambda m: f"\\u{ord(m[0]):04x}" if ord(m[0]) > 0xFF
                           else f"\\x{ord(m[0]):02x}", text)


def render_report(report: QuizReport, *, top: int = 5) -> RenderableType:
    """A summary table and, per question, its most common mistakes and unreadable answers.

    Every learner-provided string goes in as `rich.text.Text`, which is never parsed for
    markup, so it is displayed as typed; control characters, which rich passes through to the
    terminal, are shown as escapes (`_shown`).
    """
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    heading = Text(f"{report.title} ({report.quiz})" if report.title else report.quiz,
                   style="bold")
    parts: list[RenderableType] = [heading]
    if not report.questions:
        parts.append(Text("No questions and no submissions."))
        return Group(*parts)
    summary = Table(title=Text("Questions"), title_justify="left")
    summary.add_column("question", overflow="fold", min_width=10)
    for name in ("attempts", "correct", "share", "wrong", "invalid"):
        summary.add_column(name, justify="right", no_wrap=True)
    summary.add_column("top mistake", overflow="fold", min_width=10)
    for q in report.questions:
        label = Text(_shown(q.id))
        if not q.in_key:
            label.append(" (not in key)", style="dim")
        summary.add_row(
            label, str(q.attempts), str(q.correct), _percent(q.share_correct),
            str(q.verdicts.get("incorrect", 0)), str(q.verdicts.get("invalid", 0)),
            Text(_shown(q.mistakes[0].answer)) if q.mistakes else Text("-"),
        )
    parts.append(summary)
    for q in report.questions:
        if q.mistakes:
            table = Table(title=Text(f"{_shown(q.id)}: most common wrong answers"),
                          title_justify="left")
            for name in ("#", "answer", "count", "share of wrong", "also written as",
                         "feedback given"):
                table.add_column(name, overflow="fold")
            for rank, group in enumerate(q.mistakes[:top], start=1):
                variants = Text(", ").join(Text(_shown(v.answer)) for v in group.variants)
                if group.spellings > 1 + len(group.variants):
                    variants.append(f" (+{group.spellings - 1 - len(group.variants)} more)")
                table.add_row(str(rank), Text(_shown(group.answer)), str(group.count),
                              _percent(group.share), variants,
                              Text(_shown(group.feedback)) if group.feedback else Text("-"))
            parts.append(table)
            hidden = len(q.mistakes) - top
            notes = []
            if hidden > 0:
                notes.append(f"{hidden} smaller groups not shown")
            if q.ungrouped:
                notes.append(f"{q.ungrouped} wrong answers not grouped (rare spellings or time)")
            if notes:
                parts.append(Text("; ".join(notes), style="dim"))
        if q.invalid:
            table = Table(title=Text(f"{_shown(q.id)}: answers not understood"),
                          title_justify="left")
            for name in ("error", "count", "examples"):
                table.add_column(name, overflow="fold")
            for item in q.invalid:
                examples = Text(", ").join(Text(_shown(e.answer)) for e in item.examples)
                table.add_row(Text(_shown(item.code)), str(item.count), examples)
            parts.append(table)
    if not report.complete:
        parts.append(Text("The time budget ran out: some wrong answers were not grouped.",
                          style="yellow"))
    return Group(*parts)
