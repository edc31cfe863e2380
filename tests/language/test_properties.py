"""Properties of the language: what the grammar generates parses, and nothing else escapes.

(a) Expressions generated from the grammar (numbers, names, constants, operators, signs,
brackets, calls with an arity the table allows) always parse, and build into SymPy unless a number
is too large. (b) Arbitrary text only ever raises `InputError`, within a generous time bound.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mathgrader
from mathgrader import InputError
from mathgrader.language import CONSTANTS, FUNCTIONS, parse_tree

_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,  # the same examples on every run and every machine
)
# A hang guard, not a speed claim (benchmarks/ measure speed): inputs take milliseconds, and the
# bound leaves room for a shared 2-core machine running the suite beside other work.
_TIME_BOUND = 10.0

# ------------------------------------------------------------------ the grammar, generated

_integers = st.integers(min_value=0, max_value=10**12).map(str)
_decimals = st.from_regex(
    r"([0-9]{1,4}\.[0-9]{1,4}|\.[0-9]{1,3})(e[+-]?[0-9]{1,2})?", fullmatch=True
)
_numbers = st.one_of(_integers, _decimals)
_names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,4}", fullmatch=True).filter(
    lambda name: name not in FUNCTIONS
)
_constants = st.sampled_from(sorted(CONSTANTS))
_leaves = st.one_of(_numbers, _names, _constants)
_space = st.sampled_from(["", " "])


def _call(name: str, args: list[str]) -> str:
    return f"{name}({', '.join(args)})"


@st.composite
def _calls(draw: st.DrawFn, children: st.SearchStrategy[str]) -> str:
    name = draw(st.sampled_from(sorted(FUNCTIONS)))
    spec = FUNCTIONS[name]
    if spec.list_form and draw(st.booleans()):
        items = draw(st.lists(children, min_size=1, max_size=4))
        opener, closer = draw(st.sampled_from([("(", ")"), ("[", "]")]))
        if opener == "(" and len(items) == 1:
            items = items * 2  # (a) is a group, not a one-element tuple
        return f"{name}({opener}{', '.join(items)}{closer})"
    high = spec.max_args if spec.max_args is not None else spec.min_args + 2
    count = draw(st.integers(min_value=spec.min_args, max_value=high))
    return _call(name, draw(st.lists(children, min_size=count, max_size=count)))


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(
        children, _space, st.sampled_from(["+", "-", "*", "/", "^"]), _space, children
    ).map("".join)
    signed = st.tuples(st.sampled_from(["-", "+"]), children).map("".join)
    grouped = children.map(lambda inner: f"({inner})")
    return st.one_of(binary, signed, grouped, _calls(children))


# Small enough to stay under the depth and length limits: those have their own tests.
expressions = st.recursive(_leaves, _extend, max_leaves=12)


@_SETTINGS
@given(expressions)
def test_generated_expressions_parse_and_build(text: str) -> None:
    parsed = parse_tree(text)
    assert len(parsed.items) == 1
    try:
        value = mathgrader.parse(text)
    except InputError as error:
        assert error.code == "number_too_large", (text, error.code, error.message)
        assert error.column is not None and 1 <= error.column <= len(text)
    else:
        assert value is not None
        str(value)  # every built value can be printed (no integer beyond Python's limit)


@_SETTINGS
@given(st.lists(expressions, min_size=2, max_size=4))
def test_generated_lists_parse_when_allowed(items: list[str]) -> None:
    parsed = parse_tree(", ".join(items), allow_list=True)
    assert len(parsed.items) == len(items)


# ------------------------------------------------------------------ arbitrary text

_alphabet = st.sampled_from(list("0123456789abcdefxyzEIJSinpo+-*/^()[],. e\t_"))
_grammar_soup = st.lists(
    st.one_of(_alphabet, st.sampled_from(sorted(FUNCTIONS)), st.sampled_from(sorted(CONSTANTS))),
    max_size=40,
).map("".join)
_any_text = st.text(max_size=60)
_with_controls = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=()), max_size=30
).map(lambda s: s + "\x00" if s else "\x00")


def _only_input_errors(text: str) -> None:
    started = time.perf_counter()
    try:
        mathgrader.parse(text)
    except InputError as error:
        assert error.code
        assert error.message
        if error.column is not None:
            assert 1 <= error.column <= max(len(text), 1) + 1
            assert error.end_column is not None and error.end_column >= error.column
        assert isinstance(error.context(), str)
    assert time.perf_counter() - started < _TIME_BOUND, text


@_SETTINGS
@given(_grammar_soup)
def test_text_from_the_grammar_alphabet_only_raises_input_errors(text: str) -> None:
    _only_input_errors(text)


@_SETTINGS
@given(_any_text)
def test_arbitrary_text_only_raises_input_errors(text: str) -> None:
    _only_input_errors(text)


@_SETTINGS
@given(_with_controls)
def test_unicode_and_nul_only_raise_input_errors(text: str) -> None:
    _only_input_errors(text)


@_SETTINGS
@given(expressions, st.integers(min_value=0, max_value=200), st.sampled_from(list("x(2*)^,.[")))
def test_one_character_inserted_into_a_valid_expression(text: str, at: int, char: str) -> None:
    at = min(at, len(text))
    _only_input_errors(text[:at] + char + text[at:])


def _follow(hint: str) -> list[str]:
    """The expressions a "write ..." hint tells the learner to type (see test_parser)."""
    rest = hint.removeprefix("write ")
    rest = rest.split(" (or, for the inverse function, ", 1)[0].split(" for ", 1)[0]
    return rest.split(" or ")


@_SETTINGS
@given(expressions, st.integers(min_value=0, max_value=100))
def test_a_dropped_star_gets_a_hint_that_parses(text: str, pick: int) -> None:
    stars = [i for i, char in enumerate(text) if char == "*"]
    if not stars:
        return
    at = stars[pick % len(stars)]
    broken = text[:at] + text[at + 1 :]  # 2*x -> 2x, x*(y) -> x(y), sin(x)*y -> sin(x)y
    try:
        mathgrader.parse(broken)
    except InputError as error:
        if error.hint is not None and error.hint.startswith("write "):
            for suggestion in _follow(error.hint):
                try:
                    mathgrader.parse(suggestion)
                except InputError as again:
                    assert again.code == "number_too_large", (broken, error.hint, again.message)


@pytest.mark.parametrize(
    "text",
    [
        "(" * 2000,
        ")" * 2000,
        "-" * 1999 + "x",
        "x^" * 999 + "x",
        "sin(" * 500,
        "9^" * 999 + "9",
        "1" * 2000,
        "x" * 2000,
        "1e" * 1000,
        "," * 2000,
        "x(" * 1000,
        "sin^" * 500,
    ],
    ids=lambda text: f"{text[:6]}...x{len(text)}",
)
def test_long_pathological_inputs_are_refused_quickly(text: str) -> None:
    _only_input_errors(text)
