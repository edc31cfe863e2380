"""`GradeOptions.from_mapping` remembers options objects it has validated, by their content.

A batch repeats the same options object on every line of a question, so validating each again
was a third of a repeated answer's check. The memo must give exactly what validating gives, for
every object, including ones Python's equality cannot tell apart (1, 1.0 and true; 0.0 and
-0.0), and it must never keep an error.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mathgrader.checker import options as options_module
from mathgrader.checker.options import GradeOptions
from mathgrader.errors import ConfigError

NAMES = ["relative_tolerance", "absolute_tolerance", "variables", "form", "forbid", "answers",
         "list", "feedback", "timeout", "seed", "tolerance"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.0, -0.0, 1.0, 1e-3, 2.5]),
    st.sampled_from(["x", "n", "real", "positive", "integer", "factored", "ordered", "sin", ""]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["x", "n", "answer", "message"]), inner, max_size=2),
    ),
    max_leaves=6,
)
option_objects = st.dictionaries(st.sampled_from(NAMES), values, min_size=1, max_size=3)


def outcome(fn: Any, options: Any) -> Any:
    try:
        return ("ok", fn(options))
    except ConfigError as exc:
        return ("error", exc.message, exc.field)


@settings(max_examples=400, deadline=None)
@given(st.lists(option_objects, min_size=1, max_size=6))
def test_remembered_options_are_what_validation_gives(objects: list[dict[str, Any]]) -> None:
    options_module._VALIDATED.clear()
    for options in objects * 2:  # each object seen once before its repeat
        got = outcome(GradeOptions.from_mapping, options)
        assert got == outcome(GradeOptions._validate, options)
        if got[0] == "ok":  # fields compared one by one: 0.0 == -0.0 would hide a mix-up
            want = GradeOptions._validate(options)
            assert repr(got[1]) == repr(want)


@pytest.mark.parametrize("first, second", [
    ({"seed": 1}, {"seed": True}),
    ({"seed": 1}, {"seed": 1.0}),
    ({"timeout": 1}, {"timeout": True}),
    ({"absolute_tolerance": 0.0}, {"absolute_tolerance": -0.0}),
    ({"variables": {"x": [0, 1]}}, {"variables": {"x": [0.0, True]}}),
])
def test_objects_equal_in_python_but_not_as_data_are_told_apart(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    assert first == second  # what a dict keyed by the objects themselves would confuse
    for order in ([first, second], [second, first]):
        options_module._VALIDATED.clear()
        for options in order:
            assert outcome(GradeOptions.from_mapping, options) == outcome(
                GradeOptions._validate, options)
            got = outcome(GradeOptions.from_mapping, options)
            if got[0] == "ok":
                assert repr(got[1]) == repr(GradeOptions._validate(options))


def test_a_repeated_object_is_validated_once() -> None:
    options_module._VALIDATED.clear()
    first = GradeOptions.from_mapping({"variables": {"n": "integer"}, "relative_tolerance": 0.01})
    again = GradeOptions.from_mapping({"variables": {"n": "integer"}, "relative_tolerance": 0.01})
    assert again is first


def test_errors_are_raised_every_time() -> None:
    options_module._VALIDATED.clear()
    for _ in range(2):
        with pytest.raises(ConfigError, match="seed must be an integer"):
            GradeOptions.from_mapping({"seed": -1})
    assert options_module._VALIDATED == {}


class Tagged(dict):  # type: ignore[type-arg]
    """Not plain data: its content alone might not decide what validation says."""


def test_objects_that_are_not_plain_data_are_validated_each_time() -> None:
    options_module._VALIDATED.clear()
    options = {"variables": Tagged(x="positive")}
    assert GradeOptions.from_mapping(options) == GradeOptions._validate(options)
    assert GradeOptions.from_mapping(Tagged(seed=3)).seed == 3
    assert options_module._VALIDATED == {}


def test_the_memo_stays_bounded() -> None:
    options_module._VALIDATED.clear()
    for seed in range(options_module._VALIDATED_SIZE * 2 + 5):
        assert GradeOptions.from_mapping({"seed": seed}).seed == seed
    assert len(options_module._VALIDATED) <= options_module._VALIDATED_SIZE
