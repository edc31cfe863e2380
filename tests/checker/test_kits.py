"""Every function of the language table has an implementation in every evaluation kit, and the
kits agree with SymPy (principal branches included).

The tests iterate the table, so adding a function without kits (or with a kit that computes
something else than SymPy's function of the same name) fails here.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import pytest

import mathgrader
from mathgrader.checker.evaluate import (
    EXACT_KIT,
    MPMATH_CONSTANTS,
    MPMATH_KIT,
    NUMPY_CONSTANTS,
    NUMPY_KIT,
    NotExact,
    compile_numpy,
    compile_numpy_scaled,
    evaluate_mpmath,
)
from mathgrader.language.parser import parse_tree
from mathgrader.language.table import CONSTANTS, FUNCTIONS

KITS = {"numpy": NUMPY_KIT, "mpmath": MPMATH_KIT, "exact": EXACT_KIT}

# Argument texts per function; functions not listed get the default points for their arity.
# Points avoid branch cuts, where the side a cut is approached from is a matter of signed zeros.
DEFAULT_POINTS: dict[int, list[tuple[str, ...]]] = {
    1: [("7/10",), ("-3/10",), ("1/5",), ("-5/2",)],
    2: [("7/10", "3/10"), ("5/2", "-3/2"), ("-2", "1/3")],
}
POINTS: dict[str, list[tuple[str, ...]]] = {
    "acosh": [("3/2",), ("5/2",), ("1/2",)],
    "acoth": [("3/2",), ("-5/2",)],
    "atanh": [("1/2",), ("-3/10",)],
    "asin": [("1/2",), ("-3/10",)],
    "acos": [("1/2",), ("-3/10",)],
    "abs": [("-5/2",), ("3+4*I",), ("0",)],
    "sign": [("-5/2",), ("0",), ("7/10",)],
    "floor": [("-3/2",), ("5/2",), ("2",)],
    "ceiling": [("-3/2",), ("5/2",), ("2",)],
    "exp": [("7/10",), ("-5/2",), ("I*pi/3",)],
    "ln": [("7/10",), ("-5/2",), ("1+I",)],
    "sqrt": [("7/10",), ("-5/2",), ("3-4*I",)],
    "log": [("1000",), ("7/10",), ("-5/2",)],
    "root": [("27/8", "3"), ("7/10", "2"), ("-8", "3"), ("5", "1/2")],
    "max": [("7/10", "-3/10"), ("1", "-2", "3/2")],
    "min": [("7/10", "-3/10"), ("1", "-2", "3/2")],
    "mod": [("7", "3"), ("-7/2", "3"), ("7", "-3"), ("5/2", "1/3")],
    "gcd": [("12", "18"), ("-4", "6"), ("0", "5")],
    "lcm": [("4", "6"), ("-4", "6"), ("7", "5")],
    "atan2": [("1", "-1"), ("-1/2", "-1/3"), ("0", "-1"), ("3", "4")],
    "binomial": [("5", "2"), ("7/2", "2"), ("-3", "2"), ("5/2", "3/2"), ("10", "0")],
    "arg": [("-1",), ("1+I",), ("-3*I",), ("7/10",)],
    "conjugate": [("2+3*I",), ("-5/2",)],
    "re": [("2+3*I",), ("-5/2",)],
    "im": [("2+3*I",), ("-5/2",)],
    "deg": [("pi/3",), ("-5/2",)],
    "rad": [("90",), ("-45",)],
}


def _points(name: str) -> list[tuple[str, ...]]:
    return POINTS.get(name, DEFAULT_POINTS[FUNCTIONS[name].min_args])


CALLS = [
    pytest.param(name, args, id=f"{name}({', '.join(args)})")
    for name in sorted(FUNCTIONS)
    for args in _points(name)
]


def _sympy_value(text: str) -> complex:
    return complex(mathgrader.parse(text).evalf(30))


def _close(value: complex, expected: complex, rel: float) -> bool:
    return abs(value - expected) <= rel * max(1.0, abs(expected))


@pytest.mark.parametrize("kit", sorted(KITS))
def test_every_table_function_has_an_implementation(kit: str) -> None:
    missing = sorted(set(FUNCTIONS) - set(KITS[kit]))
    assert not missing, f"the {kit} kit lacks {missing}"
    unknown = sorted(set(KITS[kit]) - set(FUNCTIONS))
    assert not unknown, f"the {kit} kit implements names the table does not have: {unknown}"


def test_every_constant_has_a_numpy_value() -> None:
    assert set(NUMPY_CONSTANTS) == set(CONSTANTS)


@pytest.mark.parametrize("name", [
    pytest.param(name, id=name)
    for name in sorted(CONSTANTS) if name not in {"oo", "zoo", "nan"}
])
def test_every_finite_constant_has_an_mpmath_value(name: str) -> None:
    assert name in MPMATH_CONSTANTS
    with mpmath.workdps(30):
        value = complex(MPMATH_CONSTANTS[name]())
    assert _close(value, _sympy_value(name), 1e-25)


@pytest.mark.parametrize("name", sorted(CONSTANTS))
def test_numpy_constants_agree_with_sympy(name: str) -> None:
    expected = complex(CONSTANTS[name].sympy(__import__("sympy")).evalf(20))
    value = NUMPY_CONSTANTS[name]
    if np.isnan(expected.real) and name == "nan":
        assert np.isnan(value.real)
    elif name == "zoo":
        assert not np.isfinite(value)
    elif not np.isfinite(expected.real):
        assert value == expected
    else:
        assert _close(value, expected, 1e-15)


@pytest.mark.parametrize(("name", "args"), CALLS)
def test_numpy_kit_agrees_with_sympy(name: str, args: tuple[str, ...]) -> None:
    expected = _sympy_value(f"{name}({', '.join(args)})")
    values = [np.array([_sympy_value(a)], dtype=complex) for a in args]
    with np.errstate(all="ignore"):
        result = complex(np.asarray(NUMPY_KIT[name](*values), dtype=complex)[0])
    assert _close(result, expected, 1e-9), (result, expected)


@pytest.mark.parametrize(("name", "args"), CALLS)
def test_mpmath_kit_agrees_with_sympy(name: str, args: tuple[str, ...]) -> None:
    expected = _sympy_value(f"{name}({', '.join(args)})")
    with mpmath.workdps(30):
        values: list[Any] = []
        for a in args:
            v = _sympy_value(a)
            values.append(mpmath.mpf(v.real) if v.imag == 0 else mpmath.mpc(v.real, v.imag))
        result = complex(MPMATH_KIT[name](*values))
    assert _close(result, expected, 1e-12), (result, expected)


RATIONAL_CALLS = [  # the exact kit only ever sees rationals
    pytest.param(name, args, id=f"{name}({', '.join(args)})")
    for name in sorted(FUNCTIONS)
    for args in _points(name)
    if not any(c in "".join(args) for c in "IEp")
]


@pytest.mark.parametrize(("name", "args"), RATIONAL_CALLS)
def test_exact_kit_is_exact_or_declines(name: str, args: tuple[str, ...]) -> None:
    parsed = [mathgrader.parse(a) for a in args]
    assert all(p.is_Rational for p in parsed)
    values = [Fraction(int(p.p), int(p.q)) for p in parsed]
    try:
        result = EXACT_KIT[name](*values)
    except NotExact:
        return  # declining is always allowed
    expected = mathgrader.parse(f"{name}({', '.join(args)})")
    assert expected.is_Rational, (name, args, result, expected)
    assert result == Fraction(int(expected.p), int(expected.q))


# ------------------------------------------------- whole expressions, principal branches


def _cut(name: str, arg: str, bug: str | None = None) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(name, arg, marks=marks, id=f"{name}({arg})")


@pytest.mark.parametrize(("name", "arg"), [
    _cut("sqrt", "-2"),
    _cut("ln", "-2"),
    _cut("log", "-2"),
    _cut("acosh", "-2"),
    _cut("acosh", "1/2"),
    _cut("asin", "2"),
    _cut("asin", "-2"),
    _cut("acos", "2"),
    _cut("acos", "-2"),
    _cut("atanh", "2"),
    _cut("atanh", "-2"),
    _cut("acoth", "1/2"),
    _cut("acoth", "-1/2"),
])
def test_real_arguments_on_branch_cuts_follow_sympy(name: str, arg: str) -> None:
    expected = _sympy_value(f"{name}({arg})")
    value = _sympy_value(arg)
    with np.errstate(all="ignore"):
        result = complex(NUMPY_KIT[name](np.array([value], dtype=complex))[0])
    with mpmath.workdps(30):
        mp_result = complex(MPMATH_KIT[name](mpmath.mpf(value.real)))
    assert _close(mp_result, expected, 1e-12), (mp_result, expected)
    assert _close(result, expected, 1e-9), (result, expected)


def _branch(text: str, bug: str | None = None) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(text, marks=marks, id=text)


@pytest.mark.parametrize("text", [
    _branch("sqrt(x)"),
    _branch("sqrt(0-x)"),
    _branch("sqrt(-x)"),
    _branch("ln(-x)"),
    _branch("(-x)^(1/3)"),
    _branch("sqrt(-1-x^2)"),
    _branch("sqrt(-2)*x"),
    _branch("acosh(-x)"),
    _branch("x^(1/3)"),
    _branch("(x-5)^(1/2)"),
    _branch("asin(x)"),
    _branch("atanh(x/4)"),
    _branch("exp(I*x)"),
])
def test_compiled_expressions_follow_sympy_principal_branches(text: str) -> None:
    node = parse_tree(text).node
    fn = compile_numpy(node, {"x": 0})
    points = [2.0, 0.5, -3.0]
    with np.errstate(all="ignore"):
        values = fn(np.array([points], dtype=complex))
        scaled, _ = compile_numpy_scaled(node, {"x": 0})(np.array([points], dtype=complex))
    # The reference's evaluator (with noise scale) and the answers' (values only) must agree
    # to the bit, or an answer typed as the reference could differ from it.
    assert np.array_equal(values, scaled, equal_nan=True), (text, values, scaled)
    expression = mathgrader.parse(text)
    (symbol,) = expression.free_symbols
    for point, value in zip(points, values, strict=True):
        expected = complex(expression.subs(symbol, point).evalf(30))
        assert _close(complex(value), expected, 1e-9), (text, point, value, expected)
        with mpmath.workdps(30):
            mp_value = complex(evaluate_mpmath(node, {"x": mpmath.mpf(point)}))
        assert _close(mp_value, expected, 1e-12), (text, point, mp_value, expected)
