"""Feedback on wrong answers names the likely slip; correct answers get none.

The assertions look for the key word of each message (sign, factor, undefined, the variable's
name, log) rather than whole sentences, so the wording can improve without breaking them.
"""

from __future__ import annotations

import pytest

from mathgrader import grade


def row(reference: str, answer: str, *words: str, bug: str | None = None) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(reference, answer, words, marks=marks, id=f"{reference} ~ {answer}")


FEEDBACK_CASES = [
    # the opposite sign
    row("2*x", "-2*x", "sign"),
    row("x^2+1", "-(x^2+1)", "sign"),
    row("sin(x)", "sin(-x)", "sign"),
    row("erf(x)", "erf(-x)", "sign"),
    row("(x-a)^5999", "(a-x)^5999", "sign"),
    row("5", "-5", "sign"),
    row("sqrt(2)", "-sqrt(2)", "sign"),
    # a constant factor
    row("2*x", "6*x", "factor"),
    row("x^2+x", "3*x^2+3*x", "factor"),
    row("x", "1.06*x", "factor"),
    # log base 10 instead of ln, and the other way round
    row("ln(x)", "log(x)", "log"),
    row("log(x)", "ln(x)", "ln"),
    row("ln(x^2+1)", "log(x^2+1)", "log"),
    # undefined where the reference is defined
    row("sqrt(x)", "sqrt(x)+1/x", "undefined"),
    row("x", "x + 0*floor(ln(x))", "undefined"),
    row("x", "x + 0*erf(sqrt(x))", "undefined"),
    # a variable the reference does not use
    row("x^2", "e^x", "e"),
    row("sin(x)", "sin(y)", "y"),
    row("x^2+1", "x^2+t", "t"),
    row("2*x", "2*y", "y"),
    row("x", "x+y", "y"),
    # too few digits
    row("2/3", "0.67", "digits"),
    # degrees for radians, a missing term, calculus slips
    row("sin(pi/6)", "sin(30)", "degrees"),
    row("cos(pi*x/180)", "cos(x)", "degrees"),
    row("x^2+x+1", "x^2+x", "missing"),
    row("x^3", "3*x^2", "derivative"),
    row("3*x + 2", "3", "derivative"),
    row("3*x^2", "x^3", "derivative"),
    row("sin(x)", "-cos(x)", "differentiate"),  # an antiderivative where the derivative was due
    row("ln(x)", "1/x", "derivative"),
    row("x^3+2*x+1", "x^3+1", "missing"),
    # a constant offset
    row("x^2+1", "x^2+5", "constant"),
    row("ln(x)", "ln(x)+1", "constant"),
]


@pytest.mark.parametrize(("reference", "answer"), [
    ("x^2", "x^3"),
    ("sin(x)", "tan(x)"),
    ("x+1", "x^2-1"),
    # an answer of 0 is no "constant factor" (its ratio to any reference is 0)
    ("x+1", "0"),
    ("sin(x)", "0"),
    ("x^2", "0*x"),
    # a step function has slope 0 but at its jumps: 0 is not "its derivative"
    ("floor(x/1000)", "0"),
    ("ceiling(x/50) - 1", "0"),
])
def test_unrelated_wrong_answers_get_no_invented_slip(reference: str, answer: str) -> None:
    result = grade(reference, answer)
    assert result.verdict == "incorrect"
    assert result.feedback is None


@pytest.mark.parametrize(("reference", "answer", "words"), FEEDBACK_CASES)
def test_feedback_names_the_slip(reference: str, answer: str, words: tuple[str, ...]) -> None:
    result = grade(reference, answer)
    assert result.verdict == "incorrect", result
    assert result.feedback is not None, result
    for word in words:
        assert word in result.feedback, (word, result.feedback)


@pytest.mark.parametrize(("reference", "answer"), [
    ("2*x", "x*2"),
    ("sin(x)^2+cos(x)^2", "1"),
    ("sqrt(x^2)", "abs(x)"),
    ("2/3", "0.666666666667"),
    ("oo", "oo+1"),
])
def test_correct_answers_get_no_feedback(reference: str, answer: str) -> None:
    result = grade(reference, answer)
    assert result.verdict == "correct"
    assert result.feedback is None
    assert result.error is None


def test_feedback_is_plain_text() -> None:
    for reference, answer in [("2*x", "-2*x"), ("sqrt(x)", "sqrt(x)+1/x"), ("x^2", "e^x"),
                              ("sin(x)^2", "1-cos(x)^2")]:
        feedback = grade(reference, answer, forbid=["cos"]).feedback
        assert feedback is not None
        assert "<" not in feedback and ">" not in feedback


@pytest.mark.parametrize(("reference", "answer", "feedback"), [
    ("x", "y", "Your answer uses the variable y, which the expected answer does not."),
    ("ln(5)/ln(3)", "ln5/ln3",
     "Your answer uses the variables ln3, ln5, which the expected answer does not (ln3 is a "
     "variable here; for the function write ln(3); ln5 is a variable here; for the function "
     "write ln(5))."),
    ("E^x", "e^x", "Your answer uses the variable e, which the expected answer does not (e is a "
     "variable here; Euler's number is E (uppercase))."),
])
def test_a_variable_the_reference_does_not_have_is_named_with_what_was_meant(
    reference: str, answer: str, feedback: str,
) -> None:
    result = grade(reference, answer)
    assert (result.verdict, result.feedback) == ("incorrect", feedback)
