"""What a worker does per line, held to the slower code it short-cuts: the decoder's scanner
called directly, the remembered text of a `Grade`'s line, and a soft timer armed only when
needed. In process, without a pool."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mathgrader.batch import pool
from mathgrader.batch.pool import decode_line, grade_payload, result_line, soft_timer
from mathgrader.checker.grade import VERDICTS, Grade

_DECODER = json.JSONDecoder(parse_constant=pool._reject_constant)
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6),
                     st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=6))
_JSON = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=8)


@given(st.one_of(_JSON.map(json.dumps), st.text(max_size=20),
                 _JSON.map(lambda v: json.dumps(v) + " x"),
                 _JSON.map(lambda v: json.dumps(v)[:-1])))
def test_decoding_a_line_is_the_full_decoder(text: str) -> None:
    text = text.strip()
    ident, item, problem = decode_line(text, 3)
    try:
        expected = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        assert problem is not None and problem.startswith(f"line 3: not valid JSON ({exc.msg} ")
        assert problem.endswith(f" column {exc.colno})") and " at at " not in problem
        return
    except (ValueError, RecursionError) as exc:
        assert problem == f"line 3: not valid JSON ({exc})"
        return
    if isinstance(expected, dict):
        assert (ident, item, problem) == (expected.get("id"), expected, None)
    else:
        assert item is None and problem is not None and "must be a JSON object" in problem


grades = st.builds(
    Grade,
    verdict=st.sampled_from(VERDICTS),
    score=st.floats(0.0, 1.0),
    feedback=st.one_of(st.none(), st.text(max_size=10)),
    error=st.one_of(st.none(), st.dictionaries(st.text(max_size=5), _SCALARS, max_size=3)),
)
idents = st.one_of(st.none(), st.text(max_size=6), st.integers(),
                   st.floats(allow_nan=False, allow_infinity=False),
                   st.booleans(), st.lists(st.integers(), max_size=2))


def _without_seconds(line: str) -> str:
    head, sep, _ = line.rpartition(', "seconds": ')
    assert sep
    return head


@given(grades, idents)
def test_a_grade_line_is_what_result_line_writes_every_time(grade: Grade, ident: Any) -> None:
    payload = (1, None, ident, {})
    expected = result_line(ident, grade.verdict, grade.score, grade.feedback, grade.error, 0.0)
    for _ in range(2):  # the second time from what the first remembered
        verdict, line = grade_payload(lambda item: grade, payload, 5.0)
        assert verdict == grade.verdict
        assert _without_seconds(line) == _without_seconds(expected)
        assert json.loads(line)["seconds"] >= 0


@pytest.mark.parametrize("grade", [
    Grade("maybe", 0.5),  # not a verdict
    Grade("correct", 2.0),  # score out of range
    Grade("correct", 1, None, None),  # an int score is written as the encoder writes it
    Grade("error", 0.0, None, {"x": object()}),  # not JSON
])
def test_a_grade_that_is_not_plain_goes_the_long_way(grade: Grade) -> None:
    expected = grade_payload(lambda item: grade.to_dict(), (1, None, "a", {}), 5.0)
    for _ in range(2):
        verdict, line = grade_payload(lambda item: grade, (1, None, "a", {}), 5.0)
        assert verdict == expected[0]
        assert json.loads(line)["error"] == json.loads(expected[1])["error"]
        assert _without_seconds(line) == _without_seconds(expected[1])


def test_remembered_lines_are_bounded() -> None:
    pool._MIDDLES.clear()
    for i in range(pool._MIDDLES_SIZE + 10):
        verdict, line = grade_payload(lambda item, i=i: Grade("incorrect", 0.0, f"fb {i}"),
                                      (1, None, i, {}), 5.0)
        assert json.loads(line)["feedback"] == f"fb {i}"
    assert 0 < len(pool._MIDDLES) <= pool._MIDDLES_SIZE


def _spin(item: Any) -> Any:
    while True:
        pass


def _quick(item: Any) -> Any:
    return {"verdict": "correct", "score": 1.0}


@pytest.mark.parametrize("earlier", [5.0, 0.3, 0.05])
def test_a_timer_armed_for_an_earlier_check_still_ends_this_one_on_time(earlier: float) -> None:
    # The first check arms the timer (due later than, about when, or before the second's end);
    # the second spins and must be stopped by its own budget, not before.
    budget = 0.3
    with soft_timer() as active:
        assert active
        grade_payload(_quick, (1, None, 1, {}), earlier)
        if earlier < budget:
            time.sleep(earlier / 2)
        verdict, line = grade_payload(_spin, (2, None, 2, {}), budget)
    record = json.loads(line)
    assert verdict == "timeout" and record["error"]["code"] == "timeout"
    assert budget * 0.9 <= record["seconds"] < budget * 10


def test_a_timer_that_fires_between_checks_does_no_harm() -> None:
    with soft_timer():
        grade_payload(_quick, (1, None, 1, {}), 0.05)
        time.sleep(0.1)  # it fires here, outside any check
        assert grade_payload(_quick, (2, None, 2, {}), 5.0)[0] == "correct"
        verdict, _ = grade_payload(_spin, (3, None, 3, {}), 0.2)
    assert verdict == "timeout"
