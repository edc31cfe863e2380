"""The parser's shortcuts give exactly what the plain code gives.

The tree walk of `_check_tree` is skipped when the text cannot fail it; `token_key` joins its
matches without a generator. Each is held to the code it replaced.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mathgrader.errors import InputError
from mathgrader.language import parser
from mathgrader.language.parser import parse_tree
from mathgrader.language.spacing import SEPARATOR, _pattern, token_key
from strategies import GRAMMAR, expressions, junk_text, property_settings


def _outcome(text: str) -> object:
    try:
        return parse_tree(text, allow_list=True)
    except InputError as exc:
        return (exc.code, exc.message, exc.column, exc.end_column, exc.hint)


def _both(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    """The outcome with the shortcut, and with the walk always done."""
    fast = _outcome(text)
    with monkeypatch.context() as patch:
        patch.setattr(parser, "_MAY_FAIL_TREE_CHECK", re.compile(""))
        slow = _outcome(text)
    return fast, slow


TREE_CASES = [
    "x" + "+x" * 58, "x" + "+x" * 59, "x" + "+x" * 60, "x" + "+x" * 80, "-" * 59 + "x",
    "-" * 61 + "x", "2^" * 30 + "2", "x^" * 40 + "x", "(" * 59 + "x" + ")" * 59,
    "sin(x, y)", "sin (x, y)", "sin\t(x)", "gcd([1, 2])", "gcd((1, 2), 3)", "[1, 2]",
    "(1, 2)", "x + [2]", "max(1)", "root(x)", "atan2(1)", "log(x, 2, 3)", "gcd(())",
    "lcm([])", "x, y", "1, 2", "f(x)", "x_1 (2)", "2 (3)", "x + 1", "(x + 1)^2", "-(x)",
    "E^(-x)", "1e3*x", "sin(x)^2", "abs(-x)", "[x]", "((x))", "x[1]",
]


@pytest.mark.parametrize("text", TREE_CASES)
def test_tree_walk_skipped_only_when_it_finds_nothing(text: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = _both(text, monkeypatch)
    assert fast == slow


@given(st.one_of(expressions(GRAMMAR), junk_text(),
                 st.text(alphabet="x1+-*/^()[], sinE.", max_size=70)))
@property_settings(300)
def test_tree_walk_shortcut_on_generated_text(text: str) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, slow = _both(text, monkeypatch)
    assert fast == slow, text


@given(st.one_of(expressions(GRAMMAR), st.text(max_size=40)))
@property_settings(300)
def test_token_key_is_the_plain_join(text: str) -> None:
    expected = None
    if text.isascii() and SEPARATOR not in text and len(text) <= parser.DEFAULT_LIMITS.max_length:
        expected = SEPARATOR.join(match.group() for match in _pattern().finditer(text))
    assert token_key(text) == expected
