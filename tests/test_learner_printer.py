"""The SymPy -> learner-syntax printer of the metamorphic tests: its output parses back to the
same expression, and what the syntax cannot say is refused rather than guessed."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import assume, given, reject

import mathgrader
from learner_printer import NotLearnerSyntax, to_learner
from mathgrader import InputError
from metamorphic import SYMPY_SECONDS, Skip, time_limit
from strategies import EXACT, GRAMMAR, expressions, property_settings

X, Y = sp.symbols("x y", real=True)


def _doubles(expr: sp.Expr) -> sp.Expr:
    # The builder gives a decimal as many digits as it was typed with (at least 15), so a
    # printed 0.1 comes back as 0.100000000000000 at a higher precision: compare them as doubles.
    return expr.xreplace({f: sp.Float(f, 15) for f in expr.atoms(sp.Float)})


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("log(x)", "log(x)"),  # base 10 stays log, not ln(x)/ln(10)
        ("-2*log(3)/y", "-2*log(3)/y"),
        ("ln(x)", "ln(x)"),
        ("E^x", "exp(x)"),
        ("E", "E"),
        ("I*x + 2", "I*x + 2"),
        ("x^-1", "1/x"),
        ("(x+1)^(-2)", "1/(x + 1)^2"),
        ("1/(2*x)", "1/(2*x)"),
        ("(x^2)^y", "abs(x)^(2*y)"),  # SymPy's own simplification for real x
        ("(1/2)^x", "(1/2)^x"),
        ("(-1)^x", "(-1)^x"),
        ("x^(2^y)", "x^(2^y)"),
        ("(-x)^3", "-x^3"),
        ("(-x)^(1/3)", "(-x)^(1/3)"),
        ("x^(-1/3)", "1/x^(1/3)"),
        ("-(x-y)^3", "-(x - y)^3"),
        ("sqrt(x+1)^3", "(x + 1)^(3/2)"),
        ("root(x, 3)", "x^(1/3)"),
        ("deg(x)", "180*x/pi"),
        ("abs(x) + sign(x)", "abs(x) + sign(x)"),
        ("max(x, y, 2)", "max(2, x, y)"),
        ("mod(x, 3)", "mod(x, 3)"),
        ("gcd(x, 2)", "gcd(x, 2)"),
        ("binomial(x, 2)", "binomial(x, 2)"),
        ("GoldenRatio*Catalan - EulerGamma", "-EulerGamma + Catalan*GoldenRatio"),
        ("2.5e-3*x", "0.0025000000000000001*x"),  # as many digits as a double needs
        ("0.5", "0.5"),
        ("1e20*x", "1.0e+20*x"),
        ("-oo", "-oo"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_prints_the_learner_syntax(text: str, printed: str) -> None:
    expr = mathgrader.parse(text)
    assert to_learner(expr) == printed
    assert _doubles(mathgrader.parse(printed)) == _doubles(expr)


@pytest.mark.parametrize(
    "expr",
    [
        sp.Piecewise((X, X > 0), (0, True)),
        sp.gamma(X),
        sp.Symbol("sin", real=True) + 1,
        sp.Symbol("x y", real=True),
        sp.Integral(X, X),
        sp.LambertW(X),
        sp.Heaviside(X),
    ],
    ids=str,
)
def test_refuses_what_the_syntax_cannot_say(expr: sp.Expr) -> None:
    with pytest.raises(NotLearnerSyntax):
        to_learner(expr)


def _round_trip(text: str) -> None:
    try:
        expr = mathgrader.parse(text)
    except InputError as error:
        assume(error.code != "number_too_large")
        raise
    printed = to_learner(expr)
    again, expr = _doubles(mathgrader.parse(printed)), _doubles(expr)
    if again != expr:
        # SymPy distributes a number over a sum when it builds 2*(x + 1) or -(3*x + 1), so the
        # re-parse of a faithful print can differ in shape: then it must differ by nothing else.
        try:
            with time_limit(SYMPY_SECONDS):
                difference = sp.expand_mul(again - expr)
        except Skip:
            reject()
        assert difference == 0, (text, printed, again)


@property_settings(150)
@given(expressions(EXACT))
def test_printed_expressions_parse_back_to_the_same_value(text: str) -> None:
    _round_trip(text)


@property_settings(100)
@given(expressions(GRAMMAR))
def test_printed_expressions_with_decimals_and_every_function_parse_back(text: str) -> None:
    _round_trip(text)
