"""The per-check shortcuts of the checker give exactly what the plain definitions give.

`Expression`'s facts come from one walk (`_facts`) instead of four; the exact, mpmath and numpy
evaluators dispatch on node types; `_above_noise` decides most values from their magnitudes.
Each is compared here with the straightforward version it replaced, on generated expressions.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mathgrader.checker import evaluate
from mathgrader.checker.equivalence import SPECIAL_CONSTANTS, _facts
from mathgrader.checker.evaluate import (
    ARITHMETIC,
    EXACT_KIT,
    MPMATH_CONSTANTS,
    MPMATH_KIT,
    RATIONAL_FUNCTIONS,
    Magnitudes,
    NotExact,
    Undefined,
    _above_noise,
    _noise_factor,
    compile_numpy,
    evaluate_exact,
    evaluate_mpmath,
    integer_exponent,
)
from mathgrader.errors import InputError
from mathgrader.language import ast
from mathgrader.language.limits import check_sizes
from mathgrader.language.parser import parse_tree
from strategies import EXACT, GRAMMAR, expressions, property_settings, random_expression

HUGE = ["9^9^9^9", "10^10^10", "x^(10^10)", "binomial(10^9, 5*10^8)", "exp(exp(exp(100)))",
        "2^sinh(sinh(1000))", "x^exp(exp(10))", "1/10^5000", "E^(-20000)", "gcd((2^9999, 3))",
        "x^2 + cosh(10^5)", "(x+1)^(1/2)", "x^(6/2)", "x^(1/3)", "2^x", "floor(x)^3"]


def _tree(text: str) -> ast.Node | None:
    try:
        return parse_tree(text).node
    except InputError:
        return None


# ---------------------------------------------------------------------------------- _facts

def _slow_is_rational_exact(node: ast.Node) -> bool:
    """The definition `_facts` replaced: only rationals (no decimals, constants or irrational
    functions, integer exponents)."""
    for child in ast.walk(node):
        if isinstance(child, ast.Number) and child.is_decimal:
            return False
        if isinstance(child, ast.Constant):
            return False
        if isinstance(child, ast.Call) and child.name not in RATIONAL_FUNCTIONS:
            return False
        if isinstance(child, ast.Binary) and child.op == "^":
            if not integer_exponent(child.right):
                return False
    return True


def _slow_facts(node: ast.Node) -> tuple[Any, ...]:
    names, functions = set(), set()
    exact, special = True, False
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            names.add(child.name)
        elif isinstance(child, ast.Number) and child.is_decimal:
            exact = False
        elif isinstance(child, ast.Constant) and child.name in SPECIAL_CONSTANTS:
            special = True
        elif isinstance(child, ast.Call):
            functions.add(child.name)
    return frozenset(names), frozenset(functions), exact, special, _slow_is_rational_exact(node)


def _assert_facts(text: str) -> None:
    node = _tree(text)
    if node is None:
        return
    facts = _facts(node)
    assert facts[:5] == _slow_facts(node), text
    if not facts[5]:  # nothing check_sizes could refuse: it must not refuse
        check_sizes(node, text)


@pytest.mark.parametrize("text", HUGE)
def test_facts_of_trees_check_sizes_may_refuse(text: str) -> None:
    node = _tree(text)
    assert node is not None
    _assert_facts(text)
    try:
        check_sizes(node, text)
    except InputError:
        assert _facts(node)[5], text  # refused: the walk must have said it could be


@given(expressions(GRAMMAR))
@property_settings(300)
def test_one_walk_gives_the_facts_of_four(text: str) -> None:
    _assert_facts(text)


@given(expressions(EXACT))
@property_settings(200)
def test_one_walk_gives_the_facts_of_four_on_exact_expressions(text: str) -> None:
    _assert_facts(text)


# ------------------------------------------------------------------------- exact evaluation

def _slow_exact(node: ast.Node, values: dict[str, Fraction]) -> Fraction:
    """evaluate_exact as it was: isinstance tests and the ARITHMETIC table."""
    node = ast.strip_groups(node)
    if isinstance(node, ast.Number):
        if node.is_decimal:
            raise NotExact
        return node.value
    if isinstance(node, ast.Name):
        return values[node.name]
    if isinstance(node, ast.Constant):
        raise NotExact
    if isinstance(node, ast.Unary):
        inner = _slow_exact(node.operand, values)
        return -inner if node.op == "-" else inner
    if isinstance(node, ast.Binary):
        a = _slow_exact(node.left, values)
        if node.op == "^":
            return evaluate._exact_power(a, _slow_exact(node.right, values))  # noqa: SLF001
        b = _slow_exact(node.right, values)
        if node.op == "/" and b == 0:
            raise Undefined
        result = ARITHMETIC[node.op](a, b)
        if result.numerator.bit_length() + result.denominator.bit_length() > 400_000:
            raise NotExact
        return result
    if isinstance(node, ast.Call):
        args = node.args
        if len(args) == 1 and isinstance(args[0], ast.Sequence):
            args = args[0].items
        return EXACT_KIT[node.name](*[_slow_exact(a, values) for a in args])
    raise NotExact


def _outcome(f: Any, *args: Any) -> Any:
    try:
        return f(*args)
    except (NotExact, Undefined, ValueError, ZeroDivisionError, OverflowError) as exc:
        return type(exc)


_POINTS = [{"x": Fraction(3, 7), "y": Fraction(-5, 2), "z": Fraction(0), "a": Fraction(12),
            "b": Fraction(-1, 3), "n": Fraction(4), "t": Fraction(7, 5)},
           {"x": Fraction(0), "y": Fraction(1), "z": Fraction(-2), "a": Fraction(1, 2),
            "b": Fraction(5), "n": Fraction(-3), "t": Fraction(0)}]


@given(st.one_of(expressions(EXACT), expressions(GRAMMAR)))
@property_settings(300)
def test_exact_evaluation_is_the_plain_one(text: str) -> None:
    node = _tree(text)
    if node is None or not _facts(node)[0] <= set(_POINTS[0]):
        return
    for point in _POINTS:
        assert _outcome(evaluate_exact, node, point) == _outcome(_slow_exact, node, point), text


# ------------------------------------------------------------------------ mpmath evaluation

def _slow_mpmath(node: ast.Node, values: dict[str, Any], magnitudes: Magnitudes | None) -> Any:
    """evaluate_mpmath as it was, with the plain `_exact_term`."""
    node = ast.strip_groups(node)
    evaluated_args: list[Any] = []
    if isinstance(node, ast.Number):
        result = mpmath.mpf(node.value.numerator) / node.value.denominator
    elif isinstance(node, ast.Name):
        result = values[node.name]
    elif isinstance(node, ast.Constant):
        if node.name not in MPMATH_CONSTANTS:
            raise NotExact
        result = MPMATH_CONSTANTS[node.name]()
    elif isinstance(node, ast.Unary):
        inner = _slow_mpmath(node.operand, values, magnitudes)
        result = -inner if node.op == "-" else inner
    elif isinstance(node, ast.Binary):
        a = _slow_mpmath(node.left, values, magnitudes)
        b = _slow_mpmath(node.right, values, magnitudes)
        if node.op == "^":
            evaluate._refuse_huge(b)  # noqa: SLF001
        try:
            if node.op != "^":
                result = ARITHMETIC[node.op](a, b)
            elif a == 0 and (b.real if isinstance(b, mpmath.mpc) else b) < 0:
                raise Undefined
            else:
                result = mpmath.power(a, b)
        except ZeroDivisionError:
            raise Undefined from None
    elif isinstance(node, ast.Call):
        args = node.args
        if len(args) == 1 and isinstance(args[0], ast.Sequence):
            args = args[0].items
        evaluated_args = [_slow_mpmath(a, values, magnitudes) for a in args]
        if node.name in evaluate._GROWS_OR_REDUCES:  # noqa: SLF001
            evaluate._refuse_huge(evaluated_args[0])  # noqa: SLF001
        try:
            result = MPMATH_KIT[node.name](*evaluated_args)
        except (ZeroDivisionError, ValueError):
            raise Undefined from None
    else:
        raise NotExact
    if isinstance(result, mpmath.mpc) and result.imag == 0:
        result = result.real
    if not mpmath.isfinite(result):
        raise Undefined
    if magnitudes is not None:
        exact_term = True
        if isinstance(node, ast.Binary):
            exact_term = node.op not in "+-"
        elif isinstance(node, ast.Call) and node.name in evaluate._CAN_CANCEL:  # noqa: SLF001
            largest = max((abs(a) for a in evaluated_args), default=0)
            exact_term = bool(abs(result) > largest * _noise_factor(mpmath.mp.dps))
        magnitudes.see(result, exact_term=exact_term)
    return result


def _mp_outcome(f: Any, node: ast.Node, point: dict[str, Any]) -> Any:
    seen = Magnitudes()
    try:
        value = f(node, point, seen)
    except (NotExact, Undefined, ValueError, ZeroDivisionError, OverflowError) as exc:
        return type(exc)
    return value, seen.high, seen.low


@given(st.one_of(expressions(GRAMMAR), expressions(EXACT)), st.sampled_from([15, 50, 100]))
@property_settings(200)
def test_mpmath_evaluation_is_the_plain_one(text: str, dps: int) -> None:
    node = _tree(text)
    if node is None or _facts(node)[5]:  # sized trees: check_sizes would refuse some
        return
    names = sorted(_facts(node)[0])
    for seed in range(2):
        rng = random.Random(seed)
        point = {n: mpmath.mpf(rng.choice([-2.5, -1, 0, 0.5, 1, 3, 7.25])) for n in names}
        with mpmath.workdps(dps):
            assert _mp_outcome(evaluate_mpmath, node, point) == _mp_outcome(
                _slow_mpmath, node, point), text


# ------------------------------------------------------------------------------ _above_noise

_MANTISSAS = st.integers(-(2**80), 2**80)
_EXPONENTS = st.integers(-400, 200)


@st.composite
def _mp_values(draw: st.DrawFn) -> Any:
    real = mpmath.mpf(draw(_MANTISSAS)) * mpmath.mpf(2) ** draw(_EXPONENTS)
    if draw(st.booleans()):
        return real
    imag = mpmath.mpf(draw(_MANTISSAS)) * mpmath.mpf(2) ** draw(_EXPONENTS)
    return mpmath.mpc(real, imag)


@given(_mp_values(), st.lists(_mp_values(), min_size=1, max_size=3),
       st.sampled_from([15, 30, 50, 100, 200]), st.integers(-8, 8))
@property_settings(1000)
def test_above_noise_is_the_plain_comparison(result: Any, args: list[Any], dps: int,
                                             shift: int) -> None:
    with mpmath.workdps(dps):
        # Put the result near the noise line, where the magnitudes alone cannot tell.
        largest = max(abs(a) for a in args)
        if largest != 0 and result != 0 and shift != 0:
            result = result / abs(result) * largest * _noise_factor(dps) * mpmath.mpf(2) ** (
                shift / 4)
        plain = bool(abs(result) > max(abs(a) for a in args) * _noise_factor(dps))
        assert _above_noise(result, args) == plain, (result, args, dps)


# ------------------------------------------------------------------------------- numpy values

@given(expressions(GRAMMAR))
@property_settings(200)
def test_numpy_constants_fill_like_np_full(text: str) -> None:
    node = _tree(text)
    if node is None:
        return
    names = sorted(_facts(node)[0])
    x = np.array([[0.5, -1.25, 3.0]] * len(names), dtype=complex).reshape(len(names), 3)
    with np.errstate(all="ignore"):
        values = compile_numpy(node, {n: i for i, n in enumerate(names)})(x)
    assert values.shape == (3,) and values.dtype == complex


def test_filled_is_np_full() -> None:
    for value in (1.5 + 0j, complex("nan"), complex(float("inf"), float("nan")), 1j, -0.0 + 0j):
        got, want = evaluate._filled(4, value), np.full(4, value, dtype=complex)  # noqa: SLF001
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(got.view(float), want.view(float), equal_nan=True)
        assert (np.signbit(got.real) == np.signbit(want.real)).all()


def test_seeded_expressions_agree_on_facts() -> None:
    rng = random.Random(7)
    for _ in range(300):
        _assert_facts(random_expression(rng, GRAMMAR))
        _assert_facts(random_expression(rng, EXACT))
