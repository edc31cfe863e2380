"""Exact inputs compare exactly; identities of constants are decided; oo, zoo, nan are values.

When neither side has a decimal number (and no tolerance is given), a difference of 1 in 2^64 or of
10^(-100) is a difference. Identities between radicals and trigonometric constants must still be
recognised, and near-misses of them rejected.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from mathgrader import grade

C, X = "correct", "incorrect"


def case(reference: str, answer: str, verdict: str, *, name: str | None = None,
         bug: str | None = None, **options: Any) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(reference, answer, options, verdict, marks=marks,
                        id=name or f"{reference} ~ {answer}")


def check(reference: str, answer: str, options: dict[str, Any], verdict: str) -> None:
    result = grade(reference, answer, **options)
    assert result.verdict == verdict, (reference, answer, options, result)



# ------------------------------------------------------------------------- exact numbers

EXACT_CASES = [
    case("2^64+1", "2^64", X),
    case("2^64", "2^64+1", X),
    case("2^64", "18446744073709551616", C),
    case("99999998/99999999", "99999999/10^8", X),
    case("99999999/10^8", "99999998/99999999", X),
    case("10^20+1", "100000000000000000001", C),
    case("10^20", "100000000000000000001", X),
    case("10^3999/10^3999", "1", C),
    case("2^(1/10^9)", "1", X),
    case("sqrt(2)+10^(-100)", "sqrt(2)", X),
    case("sqrt(2)", "sqrt(2)+10^(-100)", X),
    case("sqrt(2)", "2^(1/2)", C),
    case("2^(1/2)*3^(1/2)", "6^(1/2)", C),
    case("E^(10^(-30))", "1", X),
    case("sqrt(2)", "sqrt(2)+10^(-3999)", X),  # the smallest term within the digit limit
    case("sin(10^(-40))", "10^(-40)", X),
    case("ln(1+10^(-60))", "10^(-60)", X),
    case("sin(10^(-20))", "10^(-20)", X),
    # tiny values that come out of a function rather than a literal
    case("1", "1+exp(-100)", X),
    case("1", "1+exp(-200)", X),
    case("0", "exp(-200)", X),
    case("sqrt(2)", "sqrt(2)+exp(-200)", X),
    case("1", "cos(exp(-1000))", X),  # 1 - about 10^(-869)
    case("x", "x+exp(-200)", X),  # confirmed with mpmath at sample points
    # huge terms within the digit limit (4000 digits)
    case("sqrt(2)", "sqrt(2)+1+10^3999-10^3999", X),
    case("sqrt(2)", "sqrt(2)+1+10^3000-10^3000", X),
    case("1", "acosh(10^3999)", X),  # about 9209
    case("1", "root(10^3999, 7)", X),  # about 10^571
    case("1", "Catalan*10^3999-Catalan*10^3999", X),
    case("0", "Catalan*10^3999-Catalan*10^3999", C),
    # with variables
    case("x+2^64+1", "x+2^64", X),
    case("x+2^64", "x+2^64+1", X),
    case("x+2^64", "x+18446744073709551616", C),
    case("(2^64+1)*x", "2^64*x", X),
    case("x^2+10^(-20)*x", "x^2", X),
    case("x*10^(-30)", "x*10^(-30)+10^(-60)", X),
    case("exp(x)", "exp(x)*(1+10^(-30))", X),
    case("sqrt(2)*x", "x*2^(1/2)", C),
    case("sqrt(2)*x+10^(-40)", "x*2^(1/2)", X),
    case("x+pi", "x+pi+10^(-30)", X),
    case("x", "(x+1)^10000-(x+1)^10000+x", C),
    # a decimal on either side means a tolerance applies
    case("2^64+1", "18446744073709551617.0", C),
    case("1/3", "0.3333333333", C),
    case("0.3333333333", "1/3", C),
]


@pytest.mark.parametrize(("reference", "answer", "options", "verdict"), EXACT_CASES)
def test_exact_inputs(reference: str, answer: str, options: dict[str, Any], verdict: str) -> None:
    check(reference, answer, options, verdict)


# Numbers beyond the digit limit (or values out of reach at its precision, such as exp(-10^5),
# about 10^(-43429)) may be refused early (`invalid`, number_too_large: "huge numbers
# are refused or bounded early, with a clear message"); if they are graded, the verdict must be
# right. Either way they are never accepted, and the grader answers quickly.
BEYOND_THE_LIMIT = [
    pytest.param("sqrt(2)", "sqrt(2)+10^(-5000)", id="sqrt(2) ~ sqrt(2)+10^(-5000)"),
    pytest.param("sqrt(2)", "sqrt(2)+1+10^9999-10^9999", id="sqrt(2) ~ sqrt(2)+1+10^9999-10^9999"),
    pytest.param("1", "acosh(10^9999)", id="1 ~ acosh(10^9999)"),  # about 23027
    pytest.param("1", "root(10^9999, 7)", id="1 ~ root(10^9999, 7)"),  # about 10^1428
    pytest.param("1", "Catalan*10^9999-Catalan*10^9999", id="1 ~ Catalan*10^9999-..."),  # 0
    pytest.param("1", "(1+1/10^9999)^(10^9999)", id="1 ~ (1+1/10^9999)^(10^9999)"),  # about E
    pytest.param("E", "(1+1/10^3999)^(10^3999)", id="E ~ (1+1/10^3999)^(10^3999)"),
    pytest.param("1", "binomial(30000, 15000)", id="1 ~ binomial(30000, 15000)"),
    pytest.param("sqrt(2)", "sqrt(2)+exp(-10^5)", id="sqrt(2) ~ sqrt(2)+exp(-10^5)"),
]


@pytest.mark.parametrize(("reference", "answer"), BEYOND_THE_LIMIT)
def test_numbers_beyond_the_digit_limit_are_never_accepted(reference: str, answer: str) -> None:
    start = time.monotonic()
    result = grade(reference, answer)
    assert time.monotonic() - start < 2.0
    assert result.verdict in (X, "invalid"), result
    if result.verdict == "invalid":
        assert result.error is not None and result.error["code"] == "number_too_large"
        assert result.feedback


@pytest.mark.parametrize(("reference", "answer", "verdict"), [
    pytest.param("(x-a)^6000", "(a-x)^6000", C, id="even power, swapped"),
    pytest.param("(x-a)^5999", "(x-a)^6000", X, id="5999 vs 6000"),
    pytest.param("(x-a)^5999", "(a-x)^5999", X, id="odd power, swapped"),
    pytest.param("(x-a)^5999", "-(a-x)^5999", C, id="odd power, swapped and negated"),
    pytest.param("(x^2+1)^5000-(x^2+1)^5000", "0", C, id="cancelling huge powers"),
])
def test_high_powers_are_exact_and_fast(reference: str, answer: str, verdict: str) -> None:
    start = time.monotonic()
    assert grade(reference, answer).verdict == verdict
    assert time.monotonic() - start < 2.0


# --------------------------------------------------------------- identities of constants

CARDANO = "(sqrt(108)+10)^(1/3)-(sqrt(108)-10)^(1/3)"
GAUSS_17 = (
    "(-1+sqrt(17)+sqrt(34-2*sqrt(17))"
    "+2*sqrt(17+3*sqrt(17)-sqrt(34-2*sqrt(17))-2*sqrt(34+2*sqrt(17))))/16"
)
GAUSS_17_NEAR_MISS = (  # one inner sign flipped
    "(-1+sqrt(17)+sqrt(34-2*sqrt(17))"
    "+2*sqrt(17+3*sqrt(17)+sqrt(34-2*sqrt(17))-2*sqrt(34+2*sqrt(17))))/16"
)

CONSTANT_CASES = [
    case(CARDANO, "2", C, name="Cardano = 2"),
    case("2", CARDANO, C, name="2 = Cardano"),
    case(CARDANO, "2+10^(-25)", X, name="Cardano vs 2+10^-25"),
    case(CARDANO, "2.00001", X, name="Cardano vs 2.00001"),
    case("cos(2*pi/17)", GAUSS_17, C, name="cos(2pi/17) = Gauss's radical"),
    case(GAUSS_17, "cos(2*pi/17)", C, name="Gauss's radical = cos(2pi/17)"),
    case("cos(2*pi/17)", GAUSS_17_NEAR_MISS, X, name="cos(2pi/17) vs a sign flipped"),
    case("cos(2*pi/17)", f"{GAUSS_17}+10^(-30)", X, name="cos(2pi/17) vs radical+10^-30"),
    case("sqrt(11+6*sqrt(2))", "3+sqrt(2)", C),
    case("3+sqrt(2)", "sqrt(11+6*sqrt(2))", C),
    case("sqrt(11+6*sqrt(2))", "3-sqrt(2)", X),
    case("sqrt(11+6*sqrt(2))", "3+sqrt(2)+10^(-40)", X),
    case("sqrt(11+6*sqrt(2))", "sqrt(2)+3.00001", X),
    case("sqrt(5+2*sqrt(6))", "sqrt(2)+sqrt(3)", C),
    case("sqrt(5+2*sqrt(6))", "sqrt(2)+sqrt(3)-10^(-50)", X),
    case("cos(pi/3)", "1/2", C),
    case("sin(pi/4)", "sqrt(2)/2", C),
    case("tan(pi/8)", "sqrt(2)-1", C),
    case("sin(pi/4)", "sqrt(2)/2+10^(-20)", X),
    case("pi", "355/113", X),
    case("pi", "pi+10^(-30)", X),
    case("pi", "4*atan(1)", C),
    case("pi", "3.14159265", C),  # a decimal: the default relative tolerance applies
    case("pi", "3.14", X),
]


@pytest.mark.parametrize(("reference", "answer", "options", "verdict"), CONSTANT_CASES)
def test_identities_of_constants(
    reference: str, answer: str, options: dict[str, Any], verdict: str
) -> None:
    check(reference, answer, options, verdict)


# ------------------------------------------------------------------- oo, zoo, nan as values

SPECIAL_CASES = [
    case("oo", "oo", C),
    case("oo", "oo+1", C),
    case("oo", "2*oo", C),
    case("oo", "oo^2", C),
    case("oo", "exp(oo)", C),
    case("oo", "-oo", X),
    case("-oo", "-oo", C),
    case("-oo", "-2*oo", C),
    case("oo", "10^100", X),
    case("10^100", "oo", X),
    case("1", "oo", X),
    case("oo", "nan", X),
    case("oo", "zoo", X),
    case("zoo", "oo", X),
    case("zoo", "zoo", C),
    case("zoo", "1/0", C),
    case("1/0", "zoo", C),
    case("oo", "1/0", X),
    case("nan", "nan", C),
    case("nan", "0*oo", C),
    case("0*oo", "nan", C),
    case("0", "0*oo", X),
    case("0*oo", "0", X),
    case("nan", "oo-oo", C),
    case("oo", "oo-oo", X),
    case("nan", "1", X),
    case("1", "nan", X),
    case("0", "1/oo", C),
    case("0", "exp(-oo)", C),
    case("pi/2", "atan(oo)", C),
    case("x", "x+oo", X),
    case("x", "x+0*oo", X),
]


@pytest.mark.parametrize(("reference", "answer", "options", "verdict"), SPECIAL_CASES)
def test_infinities_and_nan_are_values(
    reference: str, answer: str, options: dict[str, Any], verdict: str
) -> None:
    check(reference, answer, options, verdict)
