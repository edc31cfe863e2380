"""List answers (`list` option): element by element, with partial credit and a note per miss."""

from __future__ import annotations

import pytest

from mathgrader import grade


@pytest.mark.parametrize(("answer", "verdict", "score", "feedback"), [
    ("2, -3", "correct", 1.0, None),
    ("-3, 2", "correct", 1.0, None),
    ("2, 5", "incorrect", 0.5, "1 of 2 right: 5 is not one of the answers."),
    ("2", "incorrect", 0.5, "1 of 2 right: 1 value is missing."),
    # a repeat is not a wrong value: it is one of the answers, given twice
    ("2, 2", "incorrect", 0.5, "1 of 2 right: 2 is given more than once."),
    ("2, 2, -3", "incorrect", 2 / 3,
     "2 of 2 right: 2 is given more than once; 1 more value than expected."),
    # the same note once, however often it applies
    ("5, 5", "incorrect", 0.0, "0 of 2 right: 5 is not one of the answers."),
])
def test_unordered_lists(answer: str, verdict: str, score: float, feedback: str | None) -> None:
    result = grade("2, -3", answer, list="unordered")
    assert (result.verdict, result.feedback) == (verdict, feedback)
    assert result.score == pytest.approx(score, abs=1e-6)


def test_a_repeat_among_three_answers_is_named_once() -> None:
    result = grade("2, -3, 4", "2, 2, 2", list="unordered")
    assert result.feedback == "1 of 3 right: 2 is given more than once."


@pytest.mark.parametrize(("answer", "score", "feedback"), [
    ("2, -3", 1.0, None),
    ("-3, 2", 0.0, "0 of 2 right: element 1 (-3) is not right; element 2 (2) is not right."),
    ("2, 2", 0.5, "1 of 2 right: element 2 (2) is not right."),
])
def test_ordered_lists(answer: str, score: float, feedback: str | None) -> None:
    result = grade("2, -3", answer, list="ordered")
    assert result.feedback == feedback
    assert result.score == pytest.approx(score, abs=1e-6)
