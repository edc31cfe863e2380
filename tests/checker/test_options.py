"""Grading options (`variables`, `answers`, `forbid`, `feedback`, ...) and the verdicts for
unusable options and references (`error`) and for answers a learner typed wrong (`invalid`)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from mathgrader import grade

C, X = "correct", "incorrect"


def case(reference: str, answer: str, verdict: str, *, name: str | None = None,
         bug: str | None = None, **options: Any) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(reference, answer, options, verdict, marks=marks,
                        id=name or f"{reference} ~ {answer} {options}")


def check(reference: str, answer: str, options: dict[str, Any], verdict: str) -> None:
    result = grade(reference, answer, **options)
    assert result.verdict == verdict, (reference, answer, options, result)


# ------------------------------------------------------------------------------ variables

POSITIVE = {"x": "positive"}
INTEGER = {"n": "integer"}
COMPLEX = {"z": "complex"}

VARIABLE_CASES = [
    case("abs(x)", "x", C, variables=POSITIVE),
    case("abs(x)", "x", X),
    case("abs(x)", "x", X, variables={"x": "real"}),
    case("sqrt(x^2)", "x", C, variables=POSITIVE),
    case("ln(x^2)", "2*ln(x)", C, variables=POSITIVE),
    case("x^(1/3)", "root(x,3)", C, variables=POSITIVE),
    case("(-1)^(2*n)", "1", C, variables=INTEGER),
    case("(-1)^(2*n)", "(-1)^n", X, variables=INTEGER),
    case("cos(pi*n)", "(-1)^n", C, variables=INTEGER),
    case("floor(n/2)+ceiling(n/2)", "n", C, variables=INTEGER),
    case("floor(n/2)+ceiling(n/2)", "n", X),
    # complex: conjugates, moduli and branches are no longer real-only
    case("z^2", "z*z", C, variables=COMPLEX),
    case("(z+1)^2", "z^2+2*z+1", C, variables=COMPLEX),
    case("abs(z)^2", "z*conjugate(z)", C, variables=COMPLEX),
    case("abs(z)^2", "z^2", X, variables=COMPLEX),
    case("abs(z)", "z", X, variables=COMPLEX),
    case("conjugate(z)", "z", X, variables=COMPLEX),
    case("conjugate(z)", "re(z)-I*im(z)", C, variables=COMPLEX),
    case("re(z)", "z", X, variables=COMPLEX),
    case("sqrt(z^2)", "z", X, variables=COMPLEX),
    case("exp(z)", "exp(z+2*pi*I)", C, variables=COMPLEX),
    case("conjugate(z)", "z", C),  # z is real by default
    # [low, high] intervals
    case("sqrt(x^2)", "x", C, variables={"x": [0, 5]}),
    case("sqrt(x^2)", "x", X, variables={"x": [-5, 5]}),
    case("sqrt(x^2)", "-x", C, variables={"x": [-5, 0]}),
    case("abs(x-1)", "1-x", C, variables={"x": [-3, 1]}),
    case("abs(x-1)", "1-x", X, variables={"x": [-3, 5]}),
    case("abs(x-1)", "1-x", X, variables={"x": [-3, 4]}),
    case("sqrt(1-x^2)", "sqrt(1-x)*sqrt(1+x)", C, variables={"x": [-1, 1]}),
    # several variables with different domains
    case("sqrt(x^2)*n", "abs(x)*n", C, variables={"x": "real", "n": "integer"}),
    case("sqrt(x^2)*y", "x*y", C, variables={"x": "positive", "y": "real"}),
    case("sqrt(x^2)*y", "x*y", X, variables={"x": "real", "y": "positive"}),
    # a declared variable the reference does not use
    case("x", "x", C, variables={"t": "real"}),
    case("x", "x+t", X, variables={"t": "real"}),
]


@pytest.mark.parametrize(("reference", "answer", "options", "verdict"), VARIABLE_CASES)
def test_variable_domains(
    reference: str, answer: str, options: dict[str, Any], verdict: str
) -> None:
    check(reference, answer, options, verdict)


def test_extreme_intervals_give_a_verdict_not_an_exception() -> None:
    result = grade("sqrt(x)", "sqrt(x)", variables={"x": [-1e308, 1e308]})
    assert result.verdict in ("correct", "error")


def test_variables_only_an_alternative_answer_uses() -> None:
    assert grade("x", "y", answers=["y"]).verdict == C
    assert grade("x", "x", answers=["y"], variables={"y": [2, 3]}).verdict == C


# ------------------------------------------------------------------------------- answers

ANSWERS_CASES = [
    case("x^2", "x^2", C, answers=["2*x"]),
    case("x^2", "2*x", C, answers=["2*x"]),
    case("x^2", "x*2", C, answers=["2*x"]),
    case("x^2", "3*x", X, answers=["2*x"]),
    case("2", "-2", C, answers=["-2"]),
    case("2", "-2", X),
    case("2", "4", X, answers=["-2", "3"]),
    case("2", "3", C, answers=["-2", "3"]),
    case("x^2", "x*x", C, answers=["x^2"]),  # duplicates are harmless
]


@pytest.mark.parametrize(("reference", "answer", "options", "verdict"), ANSWERS_CASES)
def test_several_acceptable_answers(
    reference: str, answer: str, options: dict[str, Any], verdict: str
) -> None:
    check(reference, answer, options, verdict)


# -------------------------------------------------------------------------------- forbid

@pytest.mark.parametrize(("reference", "answer", "forbid", "named"), [
    ("sin(x)^2", "1-cos(x)^2", ["cos"], ["cos"]),
    ("sin(x)", "cos(x)", ["cos"], ["cos"]),  # wrong and forbidden: the rule is named
    ("sin(x)^2", "1-cos(x)^2+0*tan(x)", ["cos", "tan"], ["cos", "tan"]),
    ("2*sin(x)*cos(x)", "sin(2*x)", ["sin"], ["sin"]),
    ("abs(x)", "sqrt(x^2)", ["sqrt", "abs"], ["sqrt"]),
])
def test_forbidden_functions_make_the_answer_incorrect(
    reference: str, answer: str, forbid: list[str], named: list[str]
) -> None:
    result = grade(reference, answer, forbid=forbid)
    assert result.verdict == X
    assert result.feedback is not None
    for name in named:
        assert name in result.feedback


@pytest.mark.parametrize(("reference", "answer", "forbid"), [
    ("sin(x)^2", "sin(x)*sin(x)", ["cos"]),
    ("sinh(x)", "sinh(x)", ["sin"]),  # names are matched whole
    ("asin(x)", "asin(x)", ["sin"]),
    ("x^2", "x*x", ["sqrt"]),
])
def test_allowed_functions_are_not_forbidden(reference: str, answer: str,
                                             forbid: list[str]) -> None:
    assert grade(reference, answer, forbid=forbid).verdict == C


# ---------------------------------------------------------------------- feedback rules

SIGN_RULE = [{"answer": "-2*x", "message": "Check the sign."}]


@pytest.mark.parametrize(("answer", "message"), [
    ("-2*x", "Check the sign."),
    ("-x*2", "Check the sign."),  # matched by equivalence, not by text
    ("-(x+x)", "Check the sign."),
    ("x*(-2)", "Check the sign."),
    ("0-2*x", "Check the sign."),
])
def test_feedback_rules_match_by_equivalence(answer: str, message: str) -> None:
    result = grade("2*x", answer, feedback=SIGN_RULE)
    assert result.verdict == X
    assert result.feedback == message


def test_feedback_rules_do_not_change_a_correct_verdict() -> None:
    result = grade("2*x", "x*2", feedback=SIGN_RULE)
    assert result.verdict == C
    assert result.feedback is None


def test_feedback_rules_do_not_match_other_wrong_answers() -> None:
    result = grade("2*x", "3*x", feedback=SIGN_RULE)
    assert result.verdict == X
    assert result.feedback != "Check the sign."


def test_the_first_matching_feedback_rule_wins() -> None:
    rules = [
        {"answer": "x", "message": "Half of it."},
        {"answer": "-x-x", "message": "Check the sign."},
        {"answer": "-2*x", "message": "Never shown."},
    ]
    assert grade("2*x", "-2*x", feedback=rules).feedback == "Check the sign."
    assert grade("2*x", "x", feedback=rules).feedback == "Half of it."


def test_feedback_rules_work_with_domains() -> None:
    rules = [{"answer": "x", "message": "sqrt(x^2) is not x for negative x."}]
    result = grade("sqrt(x^2)", "x", feedback=rules)
    assert result.verdict == X
    assert result.feedback == "sqrt(x^2) is not x for negative x."


def test_a_feedback_rule_speaks_for_an_answer_in_the_wrong_form() -> None:
    # the contract: an answer equivalent to a rule's expression gets the rule's message; the
    # form's own message came first before
    rules = [{"answer": "(x-1)*(x+1)", "message": "Expand the product."}]
    result = grade("x^2-1", "(x+1)*(x-1)", form="expanded", feedback=rules)
    assert (result.verdict, result.feedback) == (X, "Expand the product.")
    assert grade("x^2-1", "(x+1)*(x-1)", form="expanded").feedback == (
        "Your answer is equivalent, but not expanded.")
    assert grade("x^2-1", "x^2-1", form="expanded", feedback=rules).verdict == C


# --------------------------------------------------------------- unusable options: error

BAD_OPTIONS = [
    pytest.param({"bogus": 1}, id="unknown option"),
    pytest.param({"relative_tol": 0.1}, id="misspelt option"),
    pytest.param({"relative_tolerance": "0.1"}, id="tolerance as text"),
    pytest.param({"relative_tolerance": -1}, id="negative tolerance"),
    pytest.param({"relative_tolerance": True}, id="tolerance as bool"),
    pytest.param({"absolute_tolerance": math.inf}, id="infinite tolerance"),
    pytest.param({"absolute_tolerance": math.nan}, id="nan tolerance"),
    pytest.param({"variables": {"x": "natural"}}, id="unknown domain"),
    pytest.param({"variables": {"x": [5, 0]}}, id="empty interval"),
    pytest.param({"variables": {"x": [0, math.inf]}}, id="infinite interval"),
    pytest.param({"variables": {"x": [True, 2]}}, id="bool bound"),
    # beyond a float's range: math.isfinite raised OverflowError on these, which reached the
    # API as "the grading function failed"
    pytest.param({"variables": {"x": [0, 10**400]}}, id="integer bound beyond floats"),
    pytest.param({"variables": {"x": [-(10**400), 0]}}, id="negative integer bound beyond floats"),
    pytest.param({"timeout": 0}, id="zero timeout"),
    pytest.param({"timeout": -1}, id="negative timeout"),
    pytest.param({"variables": {"x": [0, 1, 2]}}, id="three bounds"),
    pytest.param({"variables": ["x"]}, id="variables as list"),
    pytest.param({"variables": {"x y": "real"}}, id="bad variable name"),
    pytest.param({"forbid": "sin"}, id="forbid as text"),
    pytest.param({"forbid": [1]}, id="forbid of numbers"),
    pytest.param({"forbid": ["arcsin"]}, id="forbid of an unknown function"),
    pytest.param({"forbid": ["sin", "pi"]}, id="forbid of a constant"),
    pytest.param({"answers": []}, id="no answers"),
    pytest.param({"answers": "2*x"}, id="answers as text"),
    pytest.param({"form": "weird"}, id="unknown form"),
    pytest.param({"list": "sorted"}, id="unknown list mode"),
    pytest.param({"feedback": "nope"}, id="feedback as text"),
    pytest.param({"feedback": [{"answer": "x"}]}, id="feedback without message"),
    pytest.param({"feedback": [{"message": "m"}]}, id="feedback without answer"),
    pytest.param({"seed": 1.5}, id="fractional seed"),
    pytest.param({"seed": True}, id="bool seed"),
    pytest.param({"seed": -1}, id="negative seed"),
]


@pytest.mark.parametrize("options", BAD_OPTIONS)
def test_unusable_options_give_error(options: dict[str, Any]) -> None:
    for answer in ("2*x", "x"):  # whatever the answer
        result = grade("2*x", answer, **options)
        assert result.verdict == "error", (options, answer, result)
        assert result.score == 0.0
        assert result.error is not None
        assert result.feedback


def test_a_misspelt_forbidden_function_is_named_with_a_suggestion() -> None:
    # it used to forbid nothing, silently
    result = grade("1", "1", forbid=["cos", "arcsin"])
    assert result.verdict == "error"
    assert result.feedback == ("forbid names 'arcsin', which is not a function of the learner"
                               " syntax (did you mean asin?)")


def test_huge_interval_bounds_get_the_interval_message() -> None:
    result = grade("x", "x", variables={"x": [0, 10**400]})
    assert result.error is not None and result.error["code"] == "config"
    assert "[low, high] with low < high, both within +-1e+100" in result.feedback


@pytest.mark.parametrize("timeout", [0, -1, math.inf, 0.0])
def test_every_unusable_timeout_gets_one_message(timeout: float) -> None:
    assert grade("x", "x", timeout=timeout).feedback == "timeout must be a finite number > 0"


BAD_REFERENCES = [
    pytest.param("2*(x", {}, id="unbalanced reference"),
    pytest.param("", {}, id="empty reference"),
    pytest.param("3x", {}, id="implicit multiplication in reference"),
    pytest.param("foo(x)", {}, id="unknown function in reference"),
    pytest.param("9^9^9^9", {}, id="huge reference"),
    pytest.param("ln(0*x)", {}, id="reference undefined everywhere"),
    pytest.param("x/0", {}, id="reference x/0"),
    pytest.param("2*x", {"answers": ["3y"]}, id="bad entry in answers"),
    pytest.param("2*x", {"feedback": [{"answer": "2(x", "message": "m"}]},
                 id="bad feedback rule"),
]


@pytest.mark.parametrize(("reference", "options"), BAD_REFERENCES)
def test_unusable_references_give_error(reference: str, options: dict[str, Any]) -> None:
    for answer in ("x*2", "x"):
        result = grade(reference, answer, **options)
        assert result.verdict == "error", (reference, answer, result)
        assert result.error is not None
        assert result.error["code"] == "config"


# ------------------------------------------------------------ learner mistakes: invalid

@pytest.mark.parametrize(("answer", "code", "column", "hint"), [
    ("2x", "implicit_multiplication", 2, "write 2*x"),
    ("x(x+1)", "implicit_multiplication", 2, "write x*(x+1)"),
    ("sin x", "function_without_parentheses", 1, "write sin(x)"),
    ("2*(x", "unbalanced_parentheses", 3, None),
    ("foo(x)", "unknown_function", 1, None),
    ("Sin(x)", "unknown_function", 1, "write sin(x)"),
    ("sin(x,2)", "wrong_arity", 1, None),
    ("", "empty", 1, None),
    ("x +* 2", "syntax", 4, None),
    ("1, 2", "unexpected_list", None, None),
    ("9^9^9^9", "number_too_large", None, None),
    ("x" * 2001, "too_long", None, None),
])
def test_learner_mistakes_are_invalid_with_a_located_error(
    answer: str, code: str, column: int | None, hint: str | None
) -> None:
    result = grade("2*x", answer)
    assert result.verdict == "invalid"
    assert result.score == 0.0
    assert result.error is not None
    assert {"code", "message", "column", "end_column", "hint"} <= set(result.error)
    assert result.error["code"] == code
    assert result.feedback == result.error["message"]
    if column is not None:
        assert result.error["column"] == column
    if hint is not None:
        assert result.error["hint"] == hint
    else:
        assert code in ("too_long", "number_too_large", "unexpected_list", "empty", "syntax") \
            or result.error["hint"]


def test_a_reference_too_large_for_the_exact_comparison_is_the_authors_error() -> None:
    # it came back as the learner's `invalid`, with columns pointing into the reference
    result = grade("floor(10^3999*pi)", "1")
    assert result.verdict == "error"
    assert result.error is not None and result.error["field"] == "reference"
    assert grade("1", "floor(10^3999*pi)").error["code"] == "number_too_large"  # type: ignore[index]


@pytest.mark.parametrize(("reference", "answer"), [
    # equal on the integers near 0, not beyond 12: the draws now reach 1000
    ("abs(n-15)", "15-n"),
    ("max(n, 20)", "20"),
    ("sign(n-15)", "-1"),
    ("floor(n/40)", "0"),
])
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_integer_variables_are_drawn_far_enough(reference: str, answer: str, seed: int) -> None:
    assert grade(reference, answer, variables={"n": "integer"}, seed=seed).verdict == X


@pytest.mark.parametrize(("reference", "answer"), [
    ("binomial(n, 3)", "n*(n-1)*(n-2)/6"),
    ("mod(n, 2)", "(1 - (-1)^n)/2"),
    ("floor(n/2)", "(n - mod(n, 2))/2"),
    ("3^n", "E^(n*ln(3))"),
])
def test_integer_identities_hold_at_the_far_draws(reference: str, answer: str) -> None:
    assert grade(reference, answer, variables={"n": "integer"}).verdict == C
