"""The mpmath evaluator's shortcuts give exactly what the plain code gives.

Small integer literals come from a table of mpf values made once (exact at any working
precision the checker uses), and real results are checked and measured on their parts in place
(`_is_finite` and `Magnitudes.see` written out). The evaluator as a whole is held to the plain
one in test_hotpath_evaluators; here the table, and the evaluator at low and high precision.
"""

from __future__ import annotations

from typing import Any

import mpmath
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mathgrader.checker.evaluate import (
    _SMALL_MPF,
    Magnitudes,
    NotExact,
    Undefined,
    _is_finite,
    evaluate_mpmath,
)
from mathgrader.errors import InputError
from mathgrader.language import ast
from mathgrader.language.parser import parse_tree
from strategies import EXACT, GRAMMAR, expressions, property_settings


@pytest.mark.parametrize("dps", [3, 15, 30, 100, 1000])
def test_small_integers_are_the_mpf_of_the_moment(dps: int) -> None:
    with mpmath.workdps(dps):
        for n, value in enumerate(_SMALL_MPF):
            assert value._mpf_ == mpmath.mpf(n)._mpf_  # noqa: SLF001


def _outcome(text: str, point: dict[str, Any], dps: int) -> Any:
    with mpmath.workdps(dps):
        magnitudes = Magnitudes()
        try:
            value = evaluate_mpmath(parse_tree(text).node, point, magnitudes)
        except (NotExact, Undefined) as exc:
            return type(exc)
        assert _is_finite(value)
        return (value, magnitudes.high, magnitudes.low)


@given(st.one_of(expressions(EXACT), expressions(GRAMMAR),
                 st.sampled_from(["1023 + x", "1024*x", "7/1023", "0*x", "1000000007 - x"])),
       st.sampled_from([30, 100, 240]))
@property_settings(200)
def test_results_do_not_depend_on_the_table(text: str, dps: int) -> None:
    try:
        parse_tree(text)
    except InputError:
        return
    node = parse_tree(text).node
    point = {n.name: mpmath.mpf("0.375") for n in ast.walk(node) if isinstance(n, ast.Name)}
    with_table = _outcome(text, point, dps)
    import mathgrader.checker.evaluate as evaluate

    saved = evaluate._SMALL_MPF_LIMIT
    evaluate._SMALL_MPF_LIMIT = 0  # every literal through mpmath.mpf
    try:
        assert _outcome(text, point, dps) == with_table, text
    finally:
        evaluate._SMALL_MPF_LIMIT = saved
