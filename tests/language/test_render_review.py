"""The preview read back the way a person reads it: faithful, unambiguous, and LaTeX = MathML.

`test_preview.py` pins how each construct is drawn and that the plain text parses back to the
same tree. Here the MathML is read back as a reader of the page would read it: the grouping
`<mrow>`s are invisible, only drawn brackets, fraction bars, radicals and raised exponents
group, and operators in a row are read by precedence. Where a convention is not universal
(does -a*b mean (-a)*b or -(a*b)? where does "mod" sit among + and *?) the drawing must mean
the same under every choice. The reading is evaluated with made-up values for the variables
and made-up functions, and compared with the same evaluation of the parsed tree.
"""

from __future__ import annotations

import cmath
import itertools
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mathgrader import InputError
from mathgrader.language import ast
from mathgrader.language.parser import parse_tree
from mathgrader.language.preview import preview
from mathgrader.language.render import MATHML_NAMESPACE, to_latex, to_mathml
from mathgrader.language.table import CONSTANTS, FUNCTIONS

M = f"{{{MATHML_NAMESPACE}}}"

# ------------------------------------------------------------------ made-up values


def _function(name: str) -> Callable[..., complex]:
    """A function that is neither linear, symmetric nor associative: regrouping shows."""
    h = 0.5 + (sum(map(ord, name)) % 97) / 97

    def value(*args: complex) -> complex:
        total = h + sum((k + 1 + h) * a for k, a in enumerate(args))
        return total + 0.3 * h * args[0] * args[0]

    return value


_CONSTANT_VALUES: dict[str, complex] = {
    "Catalan": 0.915965594177219,
    "E": math.e,
    "EulerGamma": 0.5772156649015329,
    "GoldenRatio": (1 + math.sqrt(5)) / 2,
    "I": 1j,
    "J": 1j,
    "pi": math.pi,
}  # nan, oo and zoo have no value to compare; test_distinct_things_are_drawn_apart has them


def _values(names: set[str]) -> dict[str, complex]:
    return {name: 0.35 + (sum(map(ord, name)) % 89) / 37 for name in sorted(names)}


class Skip(Exception):
    """The made-up values overflowed or divided by zero: nothing to compare."""


def _pow(base: complex, exponent: complex) -> complex:
    try:
        result = complex(base) ** complex(exponent)
    except (ZeroDivisionError, OverflowError) as problem:
        raise Skip from problem
    return result


def _div(a: complex, b: complex) -> complex:
    if b == 0:
        raise Skip
    return a / b


def _evaluate_tree(node: ast.Node, env: dict[str, complex]) -> complex:
    node = ast.strip_groups(node)
    if isinstance(node, ast.Number):
        return complex(float(node.value))
    if isinstance(node, ast.Name):
        return env[node.name]
    if isinstance(node, ast.Constant):
        return _CONSTANT_VALUES[node.name]
    if isinstance(node, ast.Unary):
        operand = _evaluate_tree(node.operand, env)
        return -operand if node.op == "-" else operand
    if isinstance(node, ast.Binary):
        a, b = _evaluate_tree(node.left, env), _evaluate_tree(node.right, env)
        if node.op == "^":
            return _pow(a, b)
        if node.op == "/":
            return _div(a, b)
        return {"+": a + b, "-": a - b, "*": a * b}[node.op]
    if isinstance(node, ast.Call):
        args = node.args
        if len(args) == 1 and isinstance(ast.strip_groups(args[0]), ast.Sequence):
            args = ast.strip_groups(args[0]).children()  # gcd((a, b, c)) is gcd(a, b, c)
        return _function(node.name)(*(_evaluate_tree(arg, env) for arg in args))
    raise AssertionError(f"unexpected node {node!r}")


# ------------------------------------------------------------------ reading the MathML


class Ambiguous(AssertionError):
    pass


@dataclass(frozen=True)
class Conventions:
    unary_binds_tighter_than_product: bool  # -a*b as (-a)*b rather than -(a*b)
    mod_level: str  # "sum": looser than +; "product": with *; "tight": tighter than *


ALL_CONVENTIONS = [
    Conventions(tight, level)
    for tight, level in itertools.product([True, False], ["sum", "product", "tight"])
]

_OPEN_CLOSE = {"(": ")", "[": "]", "|": "|", "\u230a": "\u230b", "\u2308": "\u2309"}
_APPLY = "\u2061"


def _key(element: ET.Element) -> str:
    """How an element looks: its serialization without the namespace noise."""
    return ET.tostring(element, encoding="unicode").replace(f' xmlns:ns0="{MATHML_NAMESPACE}"', "")


def _element(mathml_fragment: str) -> ET.Element:
    return ET.fromstring(f'<math xmlns="{MATHML_NAMESPACE}">{mathml_fragment}</math>')[0]


def _drawn(node: ast.Node) -> ET.Element:
    return ET.fromstring(to_mathml(node))[0]


def _tag(element: ET.Element) -> str:
    return element.tag.removeprefix(M)


def _is_fence(element: ET.Element) -> bool:
    children = list(element)
    return (
        _tag(element) == "mrow"
        and len(children) == 3
        and _tag(children[0]) == "mo"
        and children[0].text in _OPEN_CLOSE
        and _tag(children[2]) == "mo"
        and children[2].text == _OPEN_CLOSE[children[0].text or ""]
    )


def _is_operator(element: ET.Element, *symbols: str) -> bool:
    return _tag(element) == "mo" and element.text in symbols


class Reader:
    """Reads our MathML as a person would, under one set of conventions."""

    def __init__(
        self, env: dict[str, complex], constants: set[str], conventions: Conventions
    ) -> None:
        self.conventions = conventions
        self.variables: dict[str, complex] = {}
        for name, value in env.items():
            key = _key(_drawn(ast.Name(0, 0, name)))
            assert key not in self.variables, f"two variables are drawn alike: {key}"
            self.variables[key] = value
        self.constants = {
            _key(_element(spec.mathml)): _CONSTANT_VALUES[name]
            for name, spec in CONSTANTS.items()
            if name in constants  # those in the expression: one drawn like a variable misreads
        }
        self.heads: dict[str, str] = {}
        for name, spec in FUNCTIONS.items():
            if spec.style in {"apply", "log10"}:
                args = ", ".join("xy"[: spec.min_args])
                row = _drawn(parse_tree(f"{name}({args})").node)
                self.heads[_key(row[0])] = name
            elif spec.style == "conjugate":  # a bar over one letter, else written out
                row = _drawn(parse_tree(f"{name}(x + y)").node)
                self.heads[_key(row[0])] = name

    # tokens -------------------------------------------------------------------------------

    def _tokens(self, element: ET.Element) -> list[ET.Element]:
        """An unbracketed row as the eye sees it: nested rows melt into one line."""
        if _tag(element) == "mrow" and not _is_fence(element):
            return [token for child in element for token in self._tokens(child)]
        return [element]

    def read(self, element: ET.Element) -> complex:
        tokens = self._tokens(element)
        value, rest = self._expression(tokens, 0)
        if rest:
            raise Ambiguous(f"unread tokens after an expression: {[_key(t) for t in rest]}")
        return value

    # precedence ---------------------------------------------------------------------------

    def _binding(self, token: ET.Element) -> int | None:
        if _is_operator(token, "+", "\u2212"):
            return 10
        if _is_operator(token, "\u22c5", "\xd7"):
            return 20
        if _is_operator(token, "mod"):
            return {"sum": 5, "product": 20, "tight": 25}[self.conventions.mod_level]
        return None

    def _expression(self, tokens: list[ET.Element], floor: int) -> tuple[complex, list]:
        if not tokens:
            raise Ambiguous("an operator with nothing after it")
        first, rest = tokens[0], tokens[1:]
        if _is_operator(first, "+", "\u2212"):
            unary = 30 if self.conventions.unary_binds_tighter_than_product else 15
            operand, rest = self._expression(rest, unary)
            left = -operand if first.text == "\u2212" else operand
        else:
            left, rest = self._operand(first, rest)
        while rest:
            binding = self._binding(rest[0])
            if binding is None:
                raise Ambiguous(f"two operands side by side: {_key(rest[0])}")
            if binding <= floor:
                break
            operator = rest[0]
            right, rest = self._expression(rest[1:], binding)
            left = self._apply(operator, left, right)
        return left, rest

    def _apply(self, operator: ET.Element, a: complex, b: complex) -> complex:
        symbol = operator.text
        if symbol == "+":
            return a + b
        if symbol == "\u2212":
            return a - b
        if symbol == "mod":
            return _function("mod")(a, b)
        return a * b

    # operands -----------------------------------------------------------------------------

    def _arguments(self, fence: ET.Element) -> list[complex]:
        tokens = self._tokens(fence[1])
        groups: list[list[ET.Element]] = [[]]
        for token in tokens:
            if _is_operator(token, ","):
                groups.append([])
            else:
                groups[-1].append(token)
        return [self._expression_of(group) for group in groups]

    def _expression_of(self, tokens: list[ET.Element]) -> complex:
        value, rest = self._expression(tokens, 0)
        if rest:
            raise Ambiguous("unread tokens")
        return value

    def _operand(self, token: ET.Element, rest: list[ET.Element]) -> tuple[complex, list]:
        key = _key(token)
        if rest and _is_operator(rest[0], _APPLY):
            if key not in self.heads or len(rest) < 2 or not _is_fence(rest[1]):
                raise Ambiguous(f"an application that is not a known function: {key}")
            return _function(self.heads[key])(*self._arguments(rest[1])), rest[2:]
        return self._atom(token), rest

    def _atom(self, token: ET.Element) -> complex:
        tag, children, key = _tag(token), list(token), _key(token)
        if key in self.constants:  # a constant wins: a variable drawn alike is misread
            return self.constants[key]
        if key in self.variables:
            return self.variables[key]
        if tag == "mn":
            return complex(float(token.text or ""))
        if _is_fence(token):
            opening, inner = children[0].text, children[1]
            if opening == "(" and _tag(inner) == "mfrac" and inner.get("linethickness") == "0":
                return _function("binomial")(self.read(inner[0]), self.read(inner[1]))
            value = self.read(inner)
            named = {"|": "abs", "\u230a": "floor", "\u2308": "ceiling"}
            return _function(named[opening])(value) if opening in named else value
        if tag == "msup":
            base = children[0]
            if _tag(base) == "mrow" and not _is_fence(base):
                row = list(base)
                if not (len(row) == 3 and _is_operator(row[1], _APPLY)):
                    raise Ambiguous(f"a raised exponent on an unbracketed row: {_key(base)}")
            return _pow(self.read(base), self.read(children[1]))
        if tag == "mfrac":
            return _div(self.read(children[0]), self.read(children[1]))
        if tag == "msqrt":
            return _function("sqrt")(self.read(children[0]))
        if tag == "mroot":
            return _function("root")(self.read(children[0]), self.read(children[1]))
        if tag == "mover" and _is_operator(children[1], "\xaf"):
            return _function("conjugate")(self.read(children[0]))
        raise Ambiguous(f"cannot read {key}")


def _readings(text: str) -> Iterator[tuple[Conventions, complex, complex]]:
    node = parse_tree(text).node
    names = {n.name for n in ast.walk(node) if isinstance(n, ast.Name)}
    constants = {n.name for n in ast.walk(node) if isinstance(n, ast.Constant)}
    env = _values(names)
    expected = _evaluate_tree(node, env)
    root = ET.fromstring(to_mathml(node))
    for conventions in ALL_CONVENTIONS:
        yield conventions, Reader(env, constants, conventions).read(root[0]), expected


def _assert_read_back(text: str) -> None:
    try:
        for conventions, read, expected in _readings(text):
            if not (cmath.isfinite(read) and cmath.isfinite(expected)):
                continue
            assert cmath.isclose(read, expected, rel_tol=1e-9, abs_tol=1e-12), (
                text, conventions, read, expected, to_latex(parse_tree(text).node))
    except Skip:
        pass


# ------------------------------------------------------------------ the FAQ's list, by example

FAQ_CASES = [
    # every function and constant (nan, oo, zoo: see test_distinct_things_are_drawn_apart)
    *[f"{name}({', '.join('xyz'[:spec.min_args])})" for name, spec in FUNCTIONS.items()],
    *[name for name in CONSTANTS if name in _CONSTANT_VALUES],
    # precedence and brackets
    "-x^2", "(-x)^2", "2^3^2", "(2^3)^2", "a/b/c", "a/(b*c)", "-(a+b)", "x^-1", "x^(1/2)",
    "(a+b)^2", "E^x", "exp(x)^2", "sin(x)^2", "sqrt(x)^3", "root(x, 3)", "root(x, 3)^2",
    "abs(x)^2", "2*-3", "x - -y", "a*(b/c)", "(a/b)^(c/d)", "(a/b)/(c/d)", "1/(1+1/(1+1/x))",
    "gcd((a, b, c))", "lcm([a, b, c])", "0.5", "1e-3", "1e-3*x", "2*1e-3", "x^1e-3", "1e-3^2",
    "123456789012345678901234567890", "a + -b*c", "a - -b*c*d", "-a*b - -c*d", "x*-y^2",
    "mod(a, 1e3)", "mod(2e3, b)", "mod(-a, b)", "-mod(a, b)", "mod(a, b)^c", "mod(a, b)*c",
    "c*mod(a, b)", "a + mod(b, c)", "mod(a+b, c)", "mod(mod(a, b), c)", "mod(a, b)/c",
    "conjugate(a+b)^2", "binomial(n+1, k)^2", "floor(x/2)*2", "abs(abs(x)-1)",
    "log(x^2)^2", "exp(-x^2/2)", "E^(-x^2/2)", "root(x+1, n+1)", "-sqrt(x)", "atan2(-y, -x)",
    "max(a+b, -c, c*d)", "2^-3^2", "x^(-1)^2", "-x^-2", "a^b^c^d", "a/b*c/d", "a*b^c",
    "(a*b)^c", "+-x", "-+x", "2/-3", "epsilon - varepsilon + varphi*GoldenRatio",
    "x_1^2 + theta_1 - x_max*xy", "Gamma*Delta + Omega", "x² + √x + π×2 ÷ 3 − 1",
]


@pytest.mark.parametrize("text", FAQ_CASES, ids=str)
def test_the_mathml_reads_back_as_the_tree(text: str) -> None:
    _assert_read_back(text)


@pytest.mark.parametrize(
    ("text", "latex"),
    [
        # A scientific number as an operand of mod was read as (a mod 1) * 10^3.
        ("mod(a, 1e3)", r"a \bmod \left(1 \times 10^{3}\right)"),
        ("mod(2e3, b)", r"\left(2 \times 10^{3}\right) \bmod b"),
        # Two product signs in a row: 2 \cdot 1 \times 10^{-3}.
        ("2*1e-3", r"2 \cdot \left(1 \times 10^{-3}\right)"),
        ("1e-3*x", r"1 \times 10^{-3} \cdot x"),
        # Two signs side by side: a + -b \cdot c, a - -b \cdot c.
        ("a + -b*c", r"a + \left(-b \cdot c\right)"),
        ("a - -b*c*d", r"a - \left(-b \cdot c \cdot d\right)"),
        ("-a*b - -c*d", r"-a \cdot b - \left(-c \cdot d\right)"),
        ("-a*b + c", r"-a \cdot b + c"),  # a sign at the very start needs nothing
        ("a + (-b + c)*d", r"a + \left(-b + c\right) \cdot d"),  # starts with a bracket
        ("a - -b/c", r"a - \frac{-b}{c}"),  # a fraction bar already separates
    ],
    ids=lambda value: value if "\\" not in value else None,
)
def test_no_sign_or_product_sign_runs_together(text: str, latex: str) -> None:
    shown = preview(text)
    assert shown.latex == latex
    assert shown.text == preview(shown.text).text  # the plain text is unchanged by this
    for left, right in itertools.pairwise(_drawn_tokens(shown.mathml)):
        assert not (left in {"+", "\u2212", "\u22c5", "\xd7", "mod"} and right in {"+", "\u2212"})


def _drawn_tokens(mathml: str) -> list[str]:
    tokens: list[str] = []

    def walk(element: ET.Element) -> None:
        if _tag(element) in {"mo", "mi", "mn"}:
            tokens.append(element.text or "")
        elif _tag(element) in {"mrow", "math"}:
            for child in element:
                walk(child)
        else:
            tokens.append("[" + _tag(element) + "]")

    walk(ET.fromstring(mathml))
    return tokens


# ------------------------------------------------------------------ names and constants


def test_distinct_things_are_drawn_apart() -> None:
    """No two different variables, and no variable and a constant, look alike."""
    from mathgrader.language.render import _GREEK

    names = sorted(set(_GREEK) | set("abcdefghijklmnopqrstuvwxyzABDFGHKLMNOPQRSTUVWXYZ")
                   | {"x_1", "xy", "NaN", "infty", "Pi", "phi", "gamma"})
    seen_latex: dict[str, str] = {}
    seen_mathml: dict[str, str] = {}
    for name in names:
        node = ast.Name(0, 0, name)
        for seen, drawn in ((seen_latex, to_latex(node)), (seen_mathml, _key(_drawn(node)))):
            assert drawn not in seen, f"{name} is drawn like {seen.get(drawn)}: {drawn}"
            seen[drawn] = name
    for name, spec in CONSTANTS.items():
        latex_twin = seen_latex.get(spec.latex)
        mathml_twin = seen_mathml.get(_key(_element(spec.mathml)))
        assert latex_twin is None, f"the constant {name} is drawn like the variable {latex_twin}"
        assert mathml_twin is None, f"the constant {name} is drawn like the variable {mathml_twin}"


def test_catalan_is_not_drawn_as_the_variable_g() -> None:
    shown = preview("G*Catalan")
    assert shown.latex.split(r" \cdot ")[0] != shown.latex.split(r" \cdot ")[1]
    row = ET.fromstring(shown.mathml)[0]
    assert _key(row[0]) != _key(row[2])


def test_greek_letters_in_mathml_are_the_letters_latex_prints() -> None:
    # \epsilon prints the lunate epsilon U+03F5; \varepsilon prints U+03B5. Both used to be
    # U+03B5 in MathML, so the variables epsilon and varepsilon looked alike there.
    assert _drawn(ast.Name(0, 0, "epsilon")).text == "\u03f5"
    assert _drawn(ast.Name(0, 0, "varepsilon")).text == "\u03b5"
    # GoldenRatio's MathML is U+03C6, the letter \varphi prints: the variable varphi is a word.
    shown = preview("varphi*GoldenRatio")
    assert shown.latex == r"\mathit{varphi} \cdot \varphi"
    # Capital Greek letters are upright in LaTeX; a one-letter <mi> is italic unless told.
    gamma = _drawn(ast.Name(0, 0, "Gamma"))
    assert gamma.text == "\u0393" and gamma.get("mathvariant") == "normal"
    assert _drawn(ast.Name(0, 0, "alpha")).get("mathvariant") is None


# ------------------------------------------------------------------ property

_NAMES = ["x", "y", "a", "G", "alpha", "theta", "Delta", "x_1", "xy", "e", "varepsilon"]
_numbers = st.one_of(
    st.integers(0, 10**6).map(str),
    st.tuples(st.integers(0, 99), st.integers(0, 99)).map(lambda p: f"{p[0]}.{p[1]}"),
    st.tuples(st.integers(1, 9), st.sampled_from(["e", "e-", "e+"]), st.integers(0, 4)).map(
        lambda p: f"{p[0]}{p[1]}{p[2]}"
    ),
)
_leaves = st.one_of(
    _numbers, st.sampled_from(_NAMES), st.sampled_from(sorted(set(_CONSTANT_VALUES) - {"Catalan"}))
)


@st.composite
def _expressions(draw: st.DrawFn, depth: int = 4) -> str:
    kind = "leaf" if depth == 0 else draw(
        st.sampled_from(["leaf", "binary", "binary", "binary", "unary", "call"]))
    if kind == "leaf":
        return draw(_leaves)
    if kind == "unary":
        return draw(st.sampled_from("-+")) + draw(_expressions(depth - 1))
    if kind == "binary":
        parts = [draw(_expressions(depth - 1)) for _ in range(2)]
        parts = [f"({part})" if draw(st.booleans()) else part for part in parts]
        return parts[0] + draw(st.sampled_from("+-*/^")) + parts[1]
    spec = draw(st.sampled_from(sorted(FUNCTIONS.values(), key=lambda s: s.name)))
    args = [draw(_expressions(depth - 1)) for _ in range(spec.min_args)]
    return f"{spec.name}({', '.join(args)})"


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(_expressions())
def test_generated_expressions_read_back_from_the_mathml(text: str) -> None:
    try:
        preview(text)
    except InputError:
        return  # refused as too large: nothing is drawn
    _assert_read_back(text)


@pytest.mark.parametrize("text", ["conjugate(a+b)", "conjugate(2+3*I)", "conjugate(x^2)"])
def test_a_conjugate_bar_is_drawn_over_one_symbol_only(text: str) -> None:
    # Chromium does not stretch an accent over a row: the bar of conjugate(a+b) sat over the +
    # alone, which reads as a -+ b. A longer argument is written out, conjugate(a + b).
    mathml = preview(text).mathml
    assert "<mover" not in mathml
    assert "<mi>conjugate</mi>" in mathml
    assert "<mover" in preview("conjugate(z)").mathml
    assert preview(text).latex.startswith(r"\overline{")  # typeset LaTeX stretches its bar
