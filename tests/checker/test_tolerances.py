"""Numeric tolerances: explicit ones are tested as the contract states them, the default is
relative 1e-6 with an absolute floor only near zero, scaled to the size of the reference."""

from __future__ import annotations

from typing import Any

import pytest

from mathgrader import grade

C, X = "correct", "incorrect"


def case(reference: str, answer: str, verdict: str, *, name: str | None = None,
         **options: Any) -> Any:
    return pytest.param(reference, answer, options, verdict, id=name or f"{reference} ~ {answer}")


def check(reference: str, answer: str, options: dict[str, Any], verdict: str) -> None:
    result = grade(reference, answer, **options)
    assert result.verdict == verdict, (reference, answer, options, result)


REL, ABS = "relative_tolerance", "absolute_tolerance"

EXPLICIT_CASES = [
    # relative alone: |a - r| <= rtol*|r|, so nothing but 0 matches 0
    case("1e-40", "0", X, relative_tolerance=0.1),
    case("0", "1e-40", X, relative_tolerance=0.1),
    case("0", "0", C, relative_tolerance=0.1),
    case("1", "1.05", C, relative_tolerance=0.05),  # binary floating point is absorbed
    case("1", "0.95", C, relative_tolerance=0.05),
    case("1", "0.949", X, relative_tolerance=0.05),
    case("1", "1.051", X, relative_tolerance=0.05),
    case("-1", "-1.05", C, relative_tolerance=0.05),
    case("-1", "1", X, relative_tolerance=0.05),
    case("x", "1.05*x", C, relative_tolerance=0.05),
    case("x", "1.06*x", X, relative_tolerance=0.05),
    case("x^2", "x^2", C, relative_tolerance=0.0),
    case("1000", "1000.9", C, relative_tolerance=0.001),
    case("1000", "1001.1", X, relative_tolerance=0.001),
    # absolute alone
    case("100", "100.5", C, absolute_tolerance=0.5),
    case("100", "100.6", X, absolute_tolerance=0.5),
    case("1e-40", "0", C, absolute_tolerance=1e-30),
    case("0", "0.4", C, absolute_tolerance=0.5),
    case("x", "x+0.4", C, absolute_tolerance=0.5),
    case("x", "x+0.6", X, absolute_tolerance=0.5),
    case("1e-40", "2e-40", X, absolute_tolerance=1e-41),
    # both: either suffices
    case("100", "100.6", C, absolute_tolerance=0.5, relative_tolerance=0.01),
    case("100", "102", X, absolute_tolerance=0.5, relative_tolerance=0.01),
    case("0", "0.4", C, absolute_tolerance=0.5, relative_tolerance=0.01),
    case("0", "0.6", X, absolute_tolerance=0.5, relative_tolerance=0.01),
    # an explicit tolerance applies to exact inputs too
    case("2^64", "2^64+1", C, relative_tolerance=1e-6),
    case("pi", "22/7", C, relative_tolerance=0.001),
    case("pi", "22/7", X, relative_tolerance=0.0001),
]


@pytest.mark.parametrize(("reference", "answer", "options", "verdict"), EXPLICIT_CASES)
def test_explicit_tolerances(
    reference: str, answer: str, options: dict[str, Any], verdict: str
) -> None:
    check(reference, answer, options, verdict)


DEFAULT_CASES = [
    # rounding error near zero, scaled to the reference's operands
    case("sin(3.141592653589793)", "0", C),
    case("0", "sin(3.141592653589793)", C),
    case("sin(x)^2+cos(x)^2-1", "0", C),
    case("0", "sin(x)^2+cos(x)^2-1", C),
    case("0", "0.0", C),
    case("0", "0.001", X),
    # ... but a tiny reference is not "near zero": it is compared relatively
    case("6.6*10^(-34)", "10^(-33)", X),
    case("10^(-33)", "6.6*10^(-34)", X),
    case("6.6*10^(-34)", "6.6*10^(-34)", C),
    case("6.6*10^(-34)", "6.6000001*10^(-34)", C),
    case("6.6*10^(-34)", "0", X),
    case("1e-20", "0", X),
    case("x^2*1e-20", "x^2*1.0000001e-20", C),
    case("x^2*1e-20", "x^2*1.1e-20", X),
    case("x^2*1e-20", "0", X),
    # relative 1e-6
    case("2/3", "0.666666666667", C),
    case("0.666666666667", "2/3", C),
    case("2/3", "0.6666667", C),
    case("2/3", "0.67", X),
    case("2/3", "0.666", X),
    case("1000000", "1000000.5", C),
    case("1000000", "1000001.5", X),
    case("pi", "3.1415926536", C),
    case("EulerGamma", "0.5772157", C),
    case("Catalan", "0.9159656", C),
    case("GoldenRatio", "1.618034", C),
    case("x^2", "x^2 + 1e-13", C),
    case("x^2", "x^2 + 1e-3", X),
    case("1.5e300", "1.5e300*(1+1e-7)", C),
    case("1.5e300", "1.5e300*(1+1e-5)", X),
]


@pytest.mark.parametrize(("reference", "answer", "options", "verdict"), DEFAULT_CASES)
def test_default_tolerance(
    reference: str, answer: str, options: dict[str, Any], verdict: str
) -> None:
    check(reference, answer, options, verdict)


@pytest.mark.parametrize(("reference", "answer"), [
    ("2/3", "0.67"),
    ("2/3", "0.666"),
    ("E", "2.7183"),
    ("sqrt(2)*x", "1.4142*x"),
    ("pi", "3.1416"),
])
def test_rounded_answers_are_told_to_give_more_digits(reference: str, answer: str) -> None:
    result = grade(reference, answer)
    assert result.verdict == X
    assert result.feedback is not None
    assert "digits" in result.feedback


@pytest.mark.parametrize(("reference", "answer", "verdict"), [
    # 1e-7 off, on values of typical size 2: within the default tolerance wherever the samples
    # fall. A sample within 0.1 of the root at x = 2 used to fail it, so the verdict hung on
    # the seed.
    ("x - 2", "x - 2.0000001", "correct"),
    ("x - 0.5", "x - 0.5000001", "correct"),
    ("x^2 - 9", "(x - 3.000001)*(x + 3)", "correct"),
    # and what is off by more than the tolerance of the reference's size stays wrong
    ("x - 2", "x - 2.001", "incorrect"),
    ("x", "x + 0.0001", "incorrect"),
    ("x^10", "x^10 + 0.0001", "incorrect"),
    ("sin(x)", "sin(x) + 0.00001", "incorrect"),
    # a reference near the top of floats: the floor must not overflow into "anything passes"
    ("9.9e307", "x", "incorrect"),
    ("1e300*x", "1.1e300*x", "incorrect"),
    ("1e300*x", "1.0000001e300*x", "correct"),
])
@pytest.mark.parametrize("seed", [0, 1, 7, 123])
def test_the_floor_near_a_root_is_scaled_to_the_references_size(
        reference: str, answer: str, verdict: str, seed: int) -> None:
    assert grade(reference, answer, seed=seed).verdict == verdict
