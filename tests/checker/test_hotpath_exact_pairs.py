"""The exact evaluator on (numerator, denominator) pairs gives what `Fraction` arithmetic gives.

`evaluate_exact` computes with integer pairs in lowest terms instead of a `Fraction` per node.
Held here to `Fraction` arithmetic (the `_slow_exact` of test_hotpath_evaluators, repeated): the
same value in the same lowest terms, the same exception (`Undefined` before `NotExact` as the
walk meets them), at points of every size up to the bit limit and on generated expressions.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mathgrader.checker import evaluate
from mathgrader.checker.evaluate import (
    _MAX_EXACT_BITS,
    ARITHMETIC,
    EXACT_KIT,
    NotExact,
    Undefined,
    evaluate_exact,
)
from mathgrader.errors import InputError
from mathgrader.language import ast
from mathgrader.language.parser import parse_tree
from strategies import EXACT, GRAMMAR, expressions, property_settings


def _fraction_exact(node: ast.Node, values: dict[str, Fraction]) -> Fraction:
    """evaluate_exact with Fraction arithmetic, as it was."""
    node = ast.strip_groups(node)
    if isinstance(node, ast.Number):
        if node.is_decimal:
            raise NotExact
        return node.value
    if isinstance(node, ast.Name):
        return values[node.name]
    if isinstance(node, ast.Unary):
        inner = _fraction_exact(node.operand, values)
        return -inner if node.op == "-" else inner
    if isinstance(node, ast.Binary):
        a = _fraction_exact(node.left, values)
        if node.op == "^":
            return evaluate._exact_power(a, _fraction_exact(node.right, values))  # noqa: SLF001
        b = _fraction_exact(node.right, values)
        if node.op == "/" and b == 0:
            raise Undefined
        result = ARITHMETIC[node.op](a, b)
        if result.numerator.bit_length() + result.denominator.bit_length() > _MAX_EXACT_BITS:
            raise NotExact
        return result
    if isinstance(node, ast.Call):
        args = node.args
        if len(args) == 1 and isinstance(args[0], ast.Sequence):
            args = args[0].items
        return EXACT_KIT[node.name](*[_fraction_exact(a, values) for a in args])
    raise NotExact


def _outcome(f: Any, node: ast.Node, point: dict[str, Fraction]) -> Any:
    try:
        value = f(node, point)
    except (NotExact, Undefined, ValueError, ZeroDivisionError, OverflowError, KeyError) as exc:
        return type(exc)
    return ("value", value.numerator, value.denominator)  # the exact lowest terms


_integers = st.one_of(st.integers(-12, 12), st.integers(-10**30, 10**30),
                      st.sampled_from([0, 1, -1, 2**64, 3**300, -(7**200)]))
_rationals = st.builds(lambda n, d: Fraction(n, d), _integers,
                       _integers.filter(lambda d: d != 0))
_points = st.fixed_dictionaries({name: _rationals for name in ("x", "y", "a", "b", "n", "t")})

_SHAPES = ["x^2 - y^2", "(x - y)*(x + y)", "1/(x - y) - 1/(y - x)", "x/y/a", "x - (y - a)",
           "-x^-3", "x^(2/2)", "x^(1/2)", "(x*y)^3/(a - b)", "x^1000*y^1000", "x^30000",
           "(x^2)^(10^3)", "0^-1", "0^0", "(x - x)^-2", "1/(x - x) + 1/0.5", "0.5 + 1/(x - x)",
           "abs(x - y)", "floor(x/y) + ceiling(a)", "mod(x, y)", "gcd((12, 18, n))", "sign(-x)",
           "binomial(n, 3)", "max(x, y, a) - min(b, t)", "re(x) + im(y)", "pi*x", "sin(x)",
           "x + y*(a - b)/(n + t)", "((x))", "--x", "+x - -y"]


@given(_points, st.sampled_from(_SHAPES))
@property_settings(400)
def test_pairs_are_fraction_arithmetic_on_shapes(point: dict[str, Fraction], text: str) -> None:
    node = parse_tree(text).node
    assert _outcome(evaluate_exact, node, point) == _outcome(_fraction_exact, node, point), text


@given(st.one_of(expressions(EXACT), expressions(GRAMMAR)), _points)
@property_settings(300)
def test_pairs_are_fraction_arithmetic_on_generated_expressions(
        text: str, point: dict[str, Fraction]) -> None:
    try:
        node = parse_tree(text).node
    except InputError:
        return
    assert _outcome(evaluate_exact, node, point) == _outcome(_fraction_exact, node, point), text


def test_the_bit_limit_is_met_where_fractions_meet_it() -> None:
    big = {"x": Fraction(3**100000, 2**100000 + 1), "y": Fraction(1, 3)}  # ~ 160,000 + 100,000
    for text in ("x*x", "x*y", "x + y", "x/y", "x^2", "x - x", "x/x", "(x - x)/(x - x)"):
        node = parse_tree(text).node
        assert _outcome(evaluate_exact, node, big) == _outcome(_fraction_exact, node, big), text
