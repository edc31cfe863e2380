"""Every function and constant of the table: its value, its arity errors, its help text.

The tests iterate the table itself, so an entry added without a test case here fails.
"""

from __future__ import annotations

import pytest
import sympy as sp

import mathgrader
from mathgrader import InputError
from mathgrader.language import CONSTANTS, FUNCTIONS
from mathgrader.language.table import ALIASES, VARIABLE_WARNINGS

x = sp.Symbol("x", real=True)

# function -> (input, expected SymPy value) pairs
FUNCTION_VALUES: dict[str, list[tuple[str, sp.Expr]]] = {
    "abs": [("abs(-3)", sp.Integer(3)), ("abs(x)", sp.Abs(x))],
    "max": [("max(2, 5)", sp.Integer(5)), ("max(1, 7, 3)", sp.Integer(7))],
    "min": [("min(2, 5)", sp.Integer(2)), ("min(4, -1, 3)", sp.Integer(-1))],
    "mod": [("mod(10, 3)", sp.Integer(1)), ("mod(-7, 3)", sp.Integer(2)),
            ("mod(7, -3)", sp.Integer(-2))],
    "ceiling": [("ceiling(2.1)", sp.Integer(3)), ("ceiling(-2.5)", sp.Integer(-2))],
    "floor": [("floor(2.9)", sp.Integer(2)), ("floor(-2.5)", sp.Integer(-3))],
    "gcd": [("gcd(8, 12)", sp.Integer(4)), ("gcd((10, 15, 25))", sp.Integer(5)),
            ("gcd([12, 18, 8])", sp.Integer(2))],
    "lcm": [("lcm(4, 6)", sp.Integer(12)), ("lcm((2, 3, 4))", sp.Integer(12)),
            ("lcm([5, 10, 4])", sp.Integer(20))],
    "sign": [("sign(-4)", sp.Integer(-1)), ("sign(0)", sp.Integer(0)), ("sign(7)", sp.Integer(1))],
    "exp": [("exp(2)", sp.E**2), ("exp(0)", sp.Integer(1))],
    "ln": [("ln(E^3)", sp.Integer(3)), ("ln(1)", sp.Integer(0))],
    "log": [("log(1000)", sp.Integer(3)), ("log(x)", sp.log(x) / sp.log(10))],
    "root": [("root(27, 3)", sp.Integer(3)), ("root(16, 4)", sp.Integer(2)),
             ("root(x, 2)", sp.sqrt(x))],
    "sqrt": [("sqrt(16)", sp.Integer(4)), ("sqrt(17)", sp.sqrt(17))],
    "cos": [("cos(0)", sp.Integer(1)), ("cos(pi)", sp.Integer(-1))],
    "cosh": [("cosh(0)", sp.Integer(1))],
    "cot": [("cot(pi/4)", sp.Integer(1))],
    "coth": [("coth(x)", sp.coth(x))],
    "sin": [("sin(pi/2)", sp.Integer(1)), ("sin(x)", sp.sin(x))],
    "sinh": [("sinh(0)", sp.Integer(0))],
    "tan": [("tan(pi/4)", sp.Integer(1))],
    "tanh": [("tanh(0)", sp.Integer(0))],
    "acos": [("acos(1/2)", sp.pi / 3)],
    "acosh": [("acosh(1)", sp.Integer(0))],
    "acot": [("acot(1)", sp.pi / 4)],
    "acoth": [("acoth(2)", sp.log(3) / 2)],
    "asin": [("asin(1/2)", sp.pi / 6)],
    "asinh": [("asinh(0)", sp.Integer(0))],
    "atan": [("atan(1)", sp.pi / 4)],
    "atan2": [("atan2(-1, 1)", -sp.pi / 4), ("atan2(1, -1)", 3 * sp.pi / 4)],
    "atanh": [("atanh(1/2)", sp.log(3) / 2)],
    "deg": [("deg(pi)", sp.Integer(180)), ("deg(pi/2)", sp.Integer(90))],
    "rad": [("rad(180)", sp.pi), ("rad(90)", sp.pi / 2)],
    "arg": [("arg(-1)", sp.pi), ("arg(I)", sp.pi / 2)],
    "conjugate": [("conjugate(2 + 3*I)", 2 - 3 * sp.I)],
    "im": [("im(2 + 3*I)", sp.Integer(3))],
    "re": [("re(2 + 3*I)", sp.Integer(2))],
    "erf": [("erf(0)", sp.Integer(0)), ("erf(1)", sp.erf(1))],
    "binomial": [("binomial(4, 2)", sp.Integer(6)), ("binomial(10, 3)", sp.Integer(120))],
}

CONSTANT_VALUES: dict[str, sp.Expr] = {
    "Catalan": sp.Catalan,
    "E": sp.E,
    "EulerGamma": sp.EulerGamma,
    "GoldenRatio": sp.GoldenRatio,
    "I": sp.I,
    "J": sp.I,
    "nan": sp.nan,
    "oo": sp.oo,
    "pi": sp.pi,
    "zoo": sp.zoo,
}


def _same(value: sp.Expr, expected: sp.Expr) -> bool:
    if value == expected:
        return True
    difference = sp.N(value - expected, 30)
    return bool(difference.is_number and abs(difference) < sp.Float("1e-25"))


def test_every_function_has_value_cases() -> None:
    assert set(FUNCTION_VALUES) == set(FUNCTIONS)


def test_every_constant_has_a_value() -> None:
    assert set(CONSTANT_VALUES) == set(CONSTANTS)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_values(name: str) -> None:
    cases = FUNCTION_VALUES.get(name)
    assert cases, f"add value cases for {name} to FUNCTION_VALUES"
    for text, expected in cases:
        value = mathgrader.parse(text)
        assert _same(value, expected), f"{text} gave {value}, expected {expected}"


@pytest.mark.parametrize("name", sorted(CONSTANTS))
def test_constant_values(name: str) -> None:
    assert name in CONSTANT_VALUES, f"add {name} to CONSTANT_VALUES"
    assert mathgrader.parse(name) == CONSTANT_VALUES[name]


@pytest.mark.parametrize("name", sorted(CONSTANTS))
def test_constants_are_case_sensitive(name: str) -> None:
    for variant in {name.lower(), name.upper(), name.swapcase()} - {name}:
        if variant in CONSTANTS or variant in FUNCTIONS:
            continue
        assert mathgrader.parse(variant) == sp.Symbol(variant, real=True)


def _arity_error(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        mathgrader.parse(text)
    return info.value


def _call(name: str, count: int) -> str:
    return f"{name}({', '.join(str(i + 2) for i in range(count))})"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_too_few_arguments(name: str) -> None:
    spec = FUNCTIONS[name]
    text = _call(name, spec.min_args - 1)
    error = _arity_error(text)
    assert (error.code, error.column, error.end_column) == ("wrong_arity", 1, len(text) + 1)
    assert name in error.message


@pytest.mark.parametrize("name", sorted(n for n, s in FUNCTIONS.items() if s.max_args is not None))
def test_too_many_arguments(name: str) -> None:
    spec = FUNCTIONS[name]
    assert spec.max_args is not None
    text = _call(name, spec.max_args + 1)
    error = _arity_error(text)
    assert (error.code, error.column, error.end_column) == ("wrong_arity", 1, len(text) + 1)
    if spec.list_form:
        assert error.hint == f"write {name}((2, 3, 4))"
        mathgrader.parse(error.hint.removeprefix("write "))


@pytest.mark.parametrize("name", sorted(n for n, s in FUNCTIONS.items() if s.max_args is None))
def test_any_number_of_arguments_from_the_minimum(name: str) -> None:
    spec = FUNCTIONS[name]
    for count in (spec.min_args, spec.min_args + 1, spec.min_args + 5):
        mathgrader.parse(_call(name, count))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_help_text_and_example(name: str) -> None:
    spec = FUNCTIONS[name]
    assert spec.name == name
    assert spec.description.strip()
    assert spec.category.strip()
    assert spec.example.startswith(f"{name}(")
    mathgrader.parse(spec.example)
    assert spec.arity_text().strip()


@pytest.mark.parametrize("name", sorted(CONSTANTS))
def test_constant_help_text(name: str) -> None:
    spec = CONSTANTS[name]
    assert spec.name == name
    assert spec.description.strip()


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_function_name_alone_needs_brackets(name: str) -> None:
    error = _arity_error(f"{name} + 1")
    assert error.code == "function_without_parentheses"
    assert (error.column, error.end_column) == (1, len(name) + 1)
    if FUNCTIONS[name].min_args == 1:
        assert error.hint == f"write {name}(x)"
    else:
        assert error.hint == f"put the arguments in brackets, e.g. {FUNCTIONS[name].example}"


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_aliases_point_somewhere_that_parses(alias: str) -> None:
    assert alias not in FUNCTIONS and alias not in CONSTANTS
    replacement, _note = ALIASES[alias]
    if replacement is not None:
        assert replacement in FUNCTIONS
    count = FUNCTIONS[replacement].min_args if replacement is not None else 1
    error = _arity_error(_call(alias, count))
    assert error.code == "unknown_function"
    assert (error.column, error.end_column) == (1, len(alias) + 1)
    assert error.hint
    if error.hint.startswith("write "):
        mathgrader.parse(error.hint.removeprefix("write "))


@pytest.mark.parametrize("name", sorted(VARIABLE_WARNINGS))
def test_names_with_warnings_are_variables(name: str) -> None:
    assert name not in FUNCTIONS and name not in CONSTANTS
    assert mathgrader.parse(name) == sp.Symbol(name, real=True)
