"""Grammar-aware random text: whatever a learner pastes, the core answers, it never crashes.

Text is assembled from grammar tokens, valid expressions, aliases and warned-about names, and
junk: unbalanced brackets, stray operators, Unicode lookalikes, control characters, NUL, runs
thousands of characters long (tests/strategies.py, `junk_text`). `parse` and `preview` may only
raise `InputError` (with a code, a message and a column inside the text); `grade` must answer
with one of the contract's verdicts, with either text as reference or answer, and never raise.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mathgrader
from mathgrader import InputError
from mathgrader.checker.grade import VERDICTS
from strategies import GRAMMAR, expressions, junk_text, property_settings

_texts = st.one_of(junk_text(), expressions(GRAMMAR))
# The options a text is most often graded with; a tight budget keeps hostile inputs quick.
_options = st.sampled_from([
    {"timeout": 1.0},
    {"timeout": 1.0, "list": "unordered"},
    {"timeout": 1.0, "form": "expanded"},
    {"timeout": 1.0, "variables": {"x": "positive"}},
])


def _input_error_only(call: Any, text: str) -> None:
    try:
        call(text)
    except InputError as error:
        assert error.code and error.message, text
        if error.column is not None:
            assert 1 <= error.column <= len(text) + 1, (text, error)
            assert error.end_column is not None and error.end_column >= error.column
        assert "<" not in error.message or "<" in text, "messages are plain text"


@property_settings(150)
@given(_texts)
def test_parse_and_preview_only_raise_input_errors(text: str) -> None:
    _input_error_only(mathgrader.parse, text)
    _input_error_only(mathgrader.preview, text)


@property_settings(60)
@given(_texts, st.sampled_from(["x", "x^2 + 1", "sin(x), 2"]), _options)
def test_grade_always_answers_with_a_contract_verdict(
    text: str, other: str, options: dict[str, Any]
) -> None:
    for reference, answer in ((other, text), (text, other), (text, text)):
        result = mathgrader.grade(reference, answer, **options)
        assert result.verdict in VERDICTS, (reference, answer, result)
        assert 0.0 <= result.score <= 1.0
        if result.verdict in ("invalid", "error"):
            assert result.error is not None and result.error.get("message")


# ------------------------------------------------------------------------ bugs found this way

# Found by the fuzz run: round() of inf in the numpy binomial escaped grade() (now fixed).
@pytest.mark.parametrize(
    ("reference", "answer"),
    [
        ("x", "binomial(ln(x), 2)"),
        ("binomial(1/sqrt(x), 2)", "x"),
        ("tanh(sinh(binomial(a^-(1/2), 4)))", "tanh(sinh(binomial(a^-(1/2), 4)))"),
    ],
)
def test_binomial_of_a_value_infinite_at_a_sample_point(reference: str, answer: str) -> None:
    assert mathgrader.grade(reference, answer).verdict in VERDICTS
