"""Token keys: texts with the same key must read the same; the checker's cache relies on it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mathgrader
from mathgrader import InputError
from mathgrader.checker.equivalence import Checker
from mathgrader.checker.options import GradeOptions
from mathgrader.language.spacing import token_key

SAME = [
    ("3*x^2 + 2", "3*x^2+2"),
    ("( x + 1 )", "(x+1)"),
    ("sin( x )", "sin(x)"),
    ("2.5e-3 * x", "2.5e-3*x"),
    ("x ^ - 1", "x^-1"),
    ("\tx\n+\r1 ", "x+1"),
]

DIFFERENT = [
    ("2 3", "23"),  # two numbers (an error) against one
    ("a b", "ab"),  # two names against one
    ("2e - 3", "2e-3"),  # 2, e, -, 3 against one number
    ("2 e3", "2e3"),
    ("2 .5", "2.5"),
    ("x\f+1", "x+1"),  # form feed is not whitespace to the grammar
    ("sin x", "sinx"),
]


@pytest.mark.parametrize(("a", "b"), SAME, ids=[a for a, _ in SAME])
def test_spacing_alone_gives_the_same_key(a: str, b: str) -> None:
    assert token_key(a) == token_key(b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT, ids=[a for a, _ in DIFFERENT])
def test_spaces_that_separate_tokens_give_another_key(a: str, b: str) -> None:
    assert token_key(a) != token_key(b)


@pytest.mark.parametrize("text", ["2\u22123", "x\x1fy", "π", " " * 5000 + "x"],
                         ids=["minus sign", "unit separator", "pi", "too long"])
def test_text_outside_printable_ascii_or_too_long_has_no_key(text: str) -> None:
    assert token_key(text) is None


def test_an_answer_too_long_with_spaces_is_not_answered_from_the_cache() -> None:
    checker = Checker()
    assert checker.check("x", "x", GradeOptions()).verdict == "correct"
    padded = checker.check("x", " " * 5000 + "x", GradeOptions())
    assert padded.verdict == "invalid" and padded.error is not None
    assert padded.error["code"] == "too_long"


TOKENS = st.sampled_from(["x", "y", "sin", "ln", "E", "pi", "e", "2", "3", "0.5", "1e3", "2e",
                          "+", "-", "*", "/", "^", "(", ")", ",", ".", "[", "]"])
SPACE = st.sampled_from(["", "", " ", "  ", "\t"])


def _read(text: str) -> str:
    # What the cache shares: whether the text parses, and to what. Error codes may differ (a
    # teaching check may look at how tokens touch: 0.5E0.5 against 0.5  E0.5), and errors are
    # never shared.
    try:
        return f"ok {mathgrader.parse(text)!r}"
    except InputError:
        return "invalid"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(TOKENS, SPACE, SPACE), min_size=1, max_size=12))
def test_texts_with_one_key_read_alike(parts: list[tuple[str, str, str]]) -> None:
    a = "".join(token + gap for token, gap, _ in parts)
    b = "".join(gap + token for token, _, gap in parts)
    if token_key(a) == token_key(b):
        assert _read(a) == _read(b)


def test_the_checker_answers_a_respaced_answer_from_its_cache(
        monkeypatch: pytest.MonkeyPatch) -> None:
    checker = Checker()
    options = GradeOptions()
    first = checker.check("3*x^2 + 2", "2 + 3*x^2", options)
    calls = []
    original = checker._check
    monkeypatch.setattr(checker, "_check", lambda *args: calls.append(args) or original(*args))
    again = checker.check("3*x^2 + 2", "2+3*x^2", options)
    assert (again.verdict, calls) == (first.verdict, [])
    wrong = checker.check("3*x^2 + 2", "3*x^2-2", options)
    assert wrong.verdict == "incorrect" and len(calls) == 1


def test_errors_keep_the_columns_of_the_text_as_typed() -> None:
    checker = Checker()
    options = GradeOptions()
    spaced = checker.check("3*x", "3  x", options)
    tight = checker.check("3*x", "3x", options)
    assert spaced.verdict == tight.verdict == "invalid"
    assert spaced.error is not None and tight.error is not None
    assert spaced.error["column"] != tight.error["column"] or (
        spaced.error["end_column"] != tight.error["end_column"])


def test_list_answers_are_keyed_as_typed() -> None:
    # List feedback quotes the learner's elements, so a respaced list is graded again.
    checker = Checker()
    options = GradeOptions.from_mapping({"list": "unordered"})
    first = checker.check("2, -3", "2, 4 + 1", options)
    second = checker.check("2, -3", "2, 4+1", options)
    assert first.feedback is not None and second.feedback is not None
    assert first.feedback != second.feedback
