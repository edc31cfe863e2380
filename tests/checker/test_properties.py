"""Property tests: a polynomial, expanded by SymPy and printed back in the learner syntax, is
graded correct against its factored form, and adding 1 makes it incorrect; whatever the options,
grade() answers with a verdict and never raises."""

from __future__ import annotations

from typing import Any

import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mathgrader
from mathgrader import grade
from mathgrader.checker.grade import VERDICTS

PROPERTY = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,  # the same examples on every run and machine
    suppress_health_check=[HealthCheck.too_slow],
)

X, Y = sp.symbols("x y")
VARIABLES = {"x": X, "y": Y}

coefficients = st.integers(min_value=-6, max_value=6).filter(bool)
# Exponents 0..1, powers 1..2 and at most three factors keep every expansion under 50 terms
# (a longer sum would be refused as nested too deeply, which is the parser's business).
monomials = st.tuples(st.integers(0, 1), st.integers(0, 1))  # exponents of x and y


@st.composite
def factors(draw: st.DrawFn) -> tuple[str, sp.Expr]:
    """A sum of up to three terms c*x^i*y^j with distinct monomials, maybe to a power."""
    terms = draw(st.dictionaries(monomials, coefficients, min_size=1, max_size=3))
    power = draw(st.integers(1, 2))
    texts, value = [], sp.Integer(0)
    for (i, j), c in sorted(terms.items()):
        texts.append("*".join([f"({c})"] + [f"x^{i}"] * (i > 0) + [f"y^{j}"] * (j > 0)))
        value += c * X**i * Y**j
    text = "(" + " + ".join(texts) + ")"
    if power > 1:
        text += f"^{power}"
    return text, value**power


@st.composite
def polynomials(draw: st.DrawFn) -> tuple[str, sp.Expr]:
    """A product of one to three factors, written as the learner would type it."""
    parts = draw(st.lists(factors(), min_size=1, max_size=3))
    text = "*".join(t for t, _ in parts)
    value = sp.Mul(*[v for _, v in parts])
    return text, value


def to_learner(expr: sp.Expr) -> str:
    """SymPy's printing of an expanded polynomial, in the learner syntax."""
    return sp.sstr(expr, order="lex").replace("**", "^")


def test_the_printer_writes_learner_syntax() -> None:
    expr = sp.expand((2 * X - 3 * Y + 1) ** 2)
    text = to_learner(expr)
    assert "**" not in text
    parsed = mathgrader.parse(text)
    parsed = parsed.subs({symbol: VARIABLES[symbol.name] for symbol in parsed.free_symbols})
    assert sp.expand(parsed - expr) == 0


@PROPERTY
@given(polynomials())
def test_expanded_polynomials_are_equivalent_to_their_factored_form(
    polynomial: tuple[str, sp.Expr]
) -> None:
    factored, value = polynomial
    expanded = to_learner(sp.expand(value))
    result = grade(factored, expanded)
    assert result.verdict == "correct", (factored, expanded, result)
    result = grade(expanded, factored)
    assert result.verdict == "correct", (expanded, factored, result)


@PROPERTY
@given(polynomials())
def test_adding_one_makes_an_expanded_polynomial_incorrect(
    polynomial: tuple[str, sp.Expr]
) -> None:
    factored, value = polynomial
    expanded = to_learner(sp.expand(value))
    result = grade(factored, f"{expanded} + 1")
    assert result.verdict == "incorrect", (factored, expanded, result)
    assert result.score == 0.0


# ------------------------------------------------------- options never make grade() raise

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=4),
)
_bounds = st.one_of(st.integers(-(10**6), 10**6), st.floats(allow_nan=True, allow_infinity=True))
_domains = st.one_of(
    st.sampled_from(["real", "positive", "integer", "complex", "natural", ""]),
    st.lists(_bounds, min_size=0, max_size=3),
    _scalars,
)
_expressions = st.sampled_from(["x^2", "2*x", "2x", "", "sin(x)", "9^9^9^9", "y", "oo"])
_option_values = {
    "relative_tolerance": _scalars,
    "absolute_tolerance": _scalars,
    "timeout": st.one_of(_scalars, st.floats(0.5, 5)),
    "seed": _scalars,
    "variables": st.one_of(
        st.dictionaries(st.sampled_from(["x", "y", "n", "x y", "1", "pi"]), _domains,
                        max_size=3),
        _scalars),
    "form": st.one_of(st.sampled_from(["any", "expanded", "numeric", "weird"]), _scalars),
    "forbid": st.one_of(st.lists(st.sampled_from(["sin", "cos", "sqrt", ""]), max_size=3),
                        _scalars),
    "answers": st.one_of(st.lists(_expressions, max_size=2), _scalars),
    "list": st.one_of(st.sampled_from(["ordered", "unordered", "sorted"]), _scalars),
    "feedback": st.one_of(
        st.lists(st.fixed_dictionaries({"answer": _expressions, "message": st.text(max_size=5)}),
                 max_size=2),
        st.lists(st.dictionaries(st.sampled_from(["answer", "message"]), _scalars), max_size=2),
        _scalars),
    "bogus": _scalars,
}
_options = st.lists(st.sampled_from(sorted(_option_values)), max_size=4, unique=True).flatmap(
    lambda names: st.fixed_dictionaries({name: _option_values[name] for name in names}))
_PAIRS = [("x^2", "x*x"), ("sqrt(x)", "sqrt(x)"), ("sin(x)", "cos(x)"), ("2*x", "2x"),
          ("floor(x)", "ceiling(x)-1"), ("1/2", "0.5")]


@PROPERTY
@given(st.sampled_from(_PAIRS), _options)
def test_any_options_give_a_verdict_never_an_exception(
    pair: tuple[str, str], options: dict[str, Any]
) -> None:
    reference, answer = pair
    result = grade(reference, answer, **options)
    assert result.verdict in VERDICTS
    assert 0.0 <= result.score <= 1.0
    if result.verdict in ("error", "invalid"):
        assert result.error is not None
