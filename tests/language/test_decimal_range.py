"""Decimal literals beyond floating point's range are refused, not graded as 0 or infinity.

Decimals are compared in floating point; before, `1e-400` against `-1e-400` was "correct" (both
0.0) and a reference `1e400*x` was "undefined at every point tried".
"""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy

import mathgrader
from mathgrader import grade
from mathgrader.errors import InputError
from mathgrader.language.parser import DECIMAL_ORDER, parse_tree


@pytest.mark.parametrize(("literal", "code"), [
    ("1e-400", "number_too_small"),
    ("2.5e-320", "number_too_small"),  # a subnormal float: digits lost
    ("0.99e-307", "number_too_small"),
    ("0." + "0" * 400 + "1", "number_too_small"),  # no exponent, long
    ("1e308", "number_too_large"),
    ("1000e305", "number_too_large"),
    ("1.5e400", "number_too_large"),
])
def test_a_decimal_beyond_floats_is_refused_where_it_stands(literal: str, code: str) -> None:
    text = f"x + {literal}"
    with pytest.raises(InputError) as caught:
        parse_tree(text)
    error = caught.value.to_dict()
    assert error["code"] == code
    assert (error["column"], error["end_column"]) == (5, 5 + len(literal))
    assert "decimals are compared in floating point" in error["message"]
    assert error["message"].endswith("Write it exactly, without a decimal point.")


@pytest.mark.parametrize("literal", ["1e-400", "2.5e-320", "0.99e-307", "1.5e400", "2.50e-400",
                                     "1000e305", "0.000" + "0" * 350 + "12"])
def test_the_hint_is_the_same_number_written_exactly(literal: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_tree(literal)
    hint = caught.value.to_dict()["hint"]
    prefix = "write "
    assert hint.startswith(prefix)
    exact = hint[len(prefix):]
    assert "." not in exact and "e" not in exact
    value = Fraction(literal)
    assert mathgrader.parse(exact) == sympy.Rational(value.numerator, value.denominator)


@pytest.mark.parametrize("literal", ["1e307", "9.9e307", "1.0e-307", "6.62607015e-34", "1e-300",
                                     "0.0", "0e300", "123456.789"])
def test_decimals_within_the_range_parse(literal: str) -> None:
    parse_tree(literal)


def test_the_bound_is_what_floats_can_hold() -> None:
    assert 10.0 ** DECIMAL_ORDER < 1.7e308 and 10.0 ** -DECIMAL_ORDER > 2.3e-308


def test_a_refused_decimal_in_the_reference_is_the_authors_error() -> None:
    result = grade("1e400*x", "x")
    assert result.verdict == "error"
    assert "too large to grade" in result.feedback


@pytest.mark.parametrize(("reference", "answer", "verdict"), [
    # computed constants beyond floats: compared scaled, as values beyond 1e300 already were
    ("0.5*10^(-400)", "-0.5*10^(-400)", "incorrect"),
    ("0.5*10^(-400)", "0", "incorrect"),
    ("0.5*10^(-400)", "1/2*10^(-400)", "correct"),
    ("0.5*10^(-400)", "0.50000001*10^(-400)", "correct"),  # within the default tolerance
    ("0.5*10^(-400)", "0.6*10^(-400)", "incorrect"),
    ("1.5*10^400", "3/2*10^400", "correct"),
    ("1.5*10^400", "1.6*10^400", "incorrect"),
])
def test_decimal_constants_beyond_floats_compare_by_value(reference: str, answer: str,
                                                          verdict: str) -> None:
    assert grade(reference, answer).verdict == verdict
