"""What compiling to numpy reads off the tree is what the plain definitions read.

`integer_literal` walks brackets and signs by exact type, `_number` divides the literal's
numerator by its denominator without `float(Fraction)`, and the scaled evaluator fills its
constants with `_filled`. Each is compared with the code it replaced.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from mathgrader.checker.evaluate import _filled, _number, compile_numpy_scaled, integer_literal
from mathgrader.errors import InputError
from mathgrader.language import ast
from mathgrader.language.parser import parse_tree
from strategies import EXACT, GRAMMAR, expressions, property_settings


def _plain_integer_literal(node: ast.Node) -> int | None:
    node = ast.strip_groups(node)
    sign = 1
    while isinstance(node, ast.Unary):
        sign = -sign if node.op == "-" else sign
        node = ast.strip_groups(node.operand)
    if isinstance(node, ast.Number) and not node.is_decimal and node.value.denominator == 1:
        value = sign * node.value.numerator
        if abs(value) <= 10_000:
            return value
    return None


def _plain_number(node: ast.Number) -> complex:
    try:
        return complex(float(node.value))
    except OverflowError:
        return complex(math.inf)


LITERALS = ["2", "-3", "(-(3))", "--4", "-(+(-5))", "10000", "-10000", "10001", "2.0", "1/2",
            "x", "-x", "(((7)))", "+8", "0", "-0", "1e3", "(2)^2"]


@given(st.one_of(expressions(EXACT), expressions(GRAMMAR), st.sampled_from(LITERALS)))
@property_settings(300)
def test_integer_literal_is_the_plain_one(text: str) -> None:
    try:
        parsed = parse_tree(text)
    except InputError:
        return
    for node in ast.walk(parsed.node):
        assert integer_literal(node) == _plain_integer_literal(node), text


NUMBERS = ["0", "1", "007", "0.1", "2.5", ".5", "1e308", "1.7976931348623157e308", "1e309",
           "1e400", "1e-400", "5e-324", "123456789012345678901234567890", "0.30000000000000004",
           "9" * 100, "3.14159265358979323846264338327950288"]


@given(st.one_of(st.sampled_from(NUMBERS),
                 st.builds(lambda a, b: f"{a}.{b}", st.integers(0, 10**20), st.integers(0, 10**20)),
                 st.builds(lambda a, e: f"{a}e{e}", st.integers(0, 10**6), st.integers(-400, 400))))
@property_settings(300)
def test_number_is_float_of_the_fraction(text: str) -> None:
    node = ast.Number(0, len(text), text, Fraction(text), True)
    assert _number(node) == _plain_number(node) or (
        math.isnan(_number(node).real) and math.isnan(_plain_number(node).real))


@given(st.one_of(expressions(EXACT), expressions(GRAMMAR)))
@property_settings(200)
def test_scaled_constants_are_the_full_arrays(text: str) -> None:
    try:
        node = parse_tree(text).node
    except InputError:
        return
    names = {name: i for i, name in enumerate(sorted(
        {n.name for n in ast.walk(node) if isinstance(n, ast.Name)}))}
    x = np.linspace(-2.5, 3.5, 7 * max(len(names), 1)).reshape(max(len(names), 1), 7)[
        :len(names) or 1].astype(complex)
    if not names:
        x = np.zeros((0, 7), dtype=complex)
    with np.errstate(all="ignore"):
        try:
            value, scale = compile_numpy_scaled(node, names)(x)
        except TypeError:  # a list outside gcd/lcm: not something the checker evaluates
            return
        for leaf in ast.walk(node):
            if isinstance(leaf, ast.Number):
                filled = _filled(7, _number(leaf))
                assert np.array_equal(filled, np.full(7, _number(leaf), dtype=complex),
                                      equal_nan=True)
    assert value.shape == scale.shape == (7,)


# ------------------------------------------------------------- the scaled evaluator's zeros

from mathgrader.checker.evaluate import (  # noqa: E402
    NUMPY_CONSTANTS,
    NUMPY_KIT,
    _call_args,
    _cut_negative_real,
    _np_power,
    _zeros_like_points,
)


def _plain_compile(node: ast.Node, names: dict[str, int]):  # type: ignore[no-untyped-def]
    """compile_numpy_scaled as it was: arrays of zeros for every leaf, and their maxima."""
    if isinstance(node, ast.Group):
        return _plain_compile(node.inner, names)
    if isinstance(node, ast.Number | ast.Constant):
        value = _number(node) if isinstance(node, ast.Number) else NUMPY_CONSTANTS[node.name]
        return lambda x: (np.full(x.shape[1], value, dtype=complex), _zeros_like_points(x))
    if isinstance(node, ast.Name):
        index = names[node.name]
        return lambda x: (x[index], _zeros_like_points(x))
    if isinstance(node, ast.Unary):
        inner = _plain_compile(node.operand, names)
        if node.op == "+":
            return inner
        return lambda x: (lambda v, s: (-v, s))(*inner(x))
    if isinstance(node, ast.Binary):
        left = _plain_compile(node.left, names)
        op = node.op
        exponent = integer_literal(node.right) if op == "^" else None
        if exponent is not None:
            return lambda x: (lambda v, s: (_cut_negative_real(v) ** exponent, s))(*left(x))
        right = _plain_compile(node.right, names)

        def binary(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            a, sa = left(x)
            b, sb = right(x)
            scale = np.maximum(sa, sb)
            if op in "+-":
                return (a + b if op == "+" else a - b), np.maximum(
                    scale, np.maximum(np.abs(a), np.abs(b)))
            if op == "*":
                return a * b, scale
            if op == "/":
                return a / b, scale
            return _np_power(a, b), scale

        return binary
    assert isinstance(node, ast.Call)
    compiled = [_plain_compile(a, names) for a in _call_args(node)]
    impl = NUMPY_KIT[node.name]

    def call(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values, scale = [], _zeros_like_points(x)
        for fn in compiled:
            value, s = fn(x)
            values.append(value)
            scale = np.maximum(scale, np.maximum(s, np.abs(value)))
        return np.asarray(impl(*values), dtype=complex), scale

    return call


def _bits(values: np.ndarray) -> list[object]:
    """Each value's bits, any NaN as one (the payload of a NaN is never read)."""
    return ["nan" if np.isnan(v) else v.tobytes() for v in values]


_POINTS = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-8, 1e8, 1e200, -7.25, 2.0])


@given(st.one_of(expressions(EXACT), expressions(GRAMMAR),
                 st.sampled_from(["3*x^2 + 2*x + 5", "-x^2", "x*y - 1", "sin(2*x) + 1",
                                  "(x + 1)/(x - 1)", "max(x, 2*y, 3)", "-(x*y)^3 - -2",
                                  "x^y^2", "ln(x) - 1/x", "2*pi*x", "gcd((4, x, 6))"])))
@property_settings(300)
def test_scaled_evaluation_is_the_plain_one(text: str) -> None:
    try:
        node = parse_tree(text).node
    except InputError:
        return
    names = sorted({n.name for n in ast.walk(node) if isinstance(n, ast.Name)})
    index = {name: i for i, name in enumerate(names)}
    rows = [np.roll(_POINTS, 3 * i) for i in range(len(names))]
    x = np.array(rows, dtype=complex) if rows else np.zeros((0, _POINTS.size), dtype=complex)
    if rows:
        x.imag[:, ::5] = -0.0  # signed zeros on the axis, as computed points have them
    with np.errstate(all="ignore"):
        try:
            expected = _plain_compile(node, index)(x)
        except TypeError:  # a list outside gcd/lcm: not something the checker evaluates
            return
        value, scale = compile_numpy_scaled(node, index)(x)
    assert _bits(value) == _bits(expected[0]), text
    assert _bits(scale.astype(complex)) == _bits(expected[1].astype(complex)), text


# ------------------------------------------------------------------- the cut of the real axis

_PARTS = [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 1e-300, -5e-324, 1e308, math.inf, -math.inf, math.nan]


@given(st.lists(st.tuples(st.one_of(st.sampled_from(_PARTS), st.floats()),
                          st.one_of(st.sampled_from(_PARTS), st.floats())), min_size=1,
                max_size=20), st.booleans())
@property_settings(300)
def test_cut_is_the_where_it_replaced(parts: list[tuple[float, float]], real: bool) -> None:
    z = np.empty(len(parts), dtype=complex)
    z.real = [p[0] for p in parts]
    z.imag = [p[1] for p in parts]
    if real:
        z = z.real.copy()  # a float array: the cut makes it complex, as np.where did
    with np.errstate(all="ignore"):
        expected = np.where(z.imag == 0, z.real + 0j, z)
        found = _cut_negative_real(z)
    assert found.dtype == expected.dtype and found.shape == expected.shape
    assert np.array_equal(found.view(np.uint64), expected.view(np.uint64)), z
