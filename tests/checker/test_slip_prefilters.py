"""The cheap tests that let slip feedback skip work must only ever rule out: whatever they skip,
the full test would not have found either."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mathgrader.checker.slips import (
    FACTOR,
    OFFSET,
    SIGN,
    _mostly_close,
    _no_numeric_slip,
    _sign_factor_offset,
)

_FLOATS = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
_SPECIAL = st.sampled_from([0.0, 1e-10, -1e-10, float("inf"), float("nan"), 1e-300])


@st.composite
def _value_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Reference values and answer values related as a slip would relate them, or not."""
    size = draw(st.integers(2, 12))
    r = np.array(draw(st.lists(st.one_of(_FLOATS, _SPECIAL), min_size=size, max_size=size)),
                 dtype=complex)
    constant = draw(st.one_of(_FLOATS, st.sampled_from([1.0, -1.0, 1 + 1e-7, 1e-9])))
    relation = draw(st.sampled_from(["sign", "factor", "offset", "same", "other"]))
    with np.errstate(all="ignore"):
        a = {"sign": -r, "factor": constant * r, "offset": r + constant, "same": r.copy(),
             "other": r * r + 1}[relation]
    if draw(st.booleans()):  # one point off: a slip everywhere but there
        i = draw(st.integers(0, size - 1))
        with np.errstate(all="ignore"):
            a[i] = a[i] * (1 + draw(st.sampled_from([1e-9, 1e-7, 1e-5, 1.0]))) + draw(_FLOATS)
    return a, r


@given(_value_pairs())
@settings(max_examples=400, deadline=None)
def test_the_two_point_prefilter_only_rules_out_what_the_full_test_rules_out(
    pair: tuple[np.ndarray, np.ndarray],
) -> None:
    a, r = pair
    finite = r[np.isfinite(r)]
    largest = max(float(np.abs(finite).max()), 1.0) if finite.size else 1.0
    if _no_numeric_slip(a, r, largest):
        assert _sign_factor_offset(a, r) is None, (a, r)


def test_the_prefilter_rules_out_an_unrelated_answer_and_keeps_every_slip() -> None:
    r = np.array([1.5, -2.0, 3.25, 0.5, 7.0], dtype=complex)
    assert _no_numeric_slip(r * r + 1, r, 7.0)
    for a, slip in ((-r, SIGN), (3 * r, FACTOR), (r + 2, OFFSET)):
        assert not _no_numeric_slip(a, r, 7.0)
        assert _sign_factor_offset(a, r) == slip


@st.composite
def _nearly_equal(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Values equal but for a few points (a kink of abs or floor), at sizes the checker uses."""
    size = draw(st.integers(10, 80))
    b = np.array(draw(st.lists(_FLOATS, min_size=size, max_size=size)), dtype=complex)
    a = b * (1 + draw(st.sampled_from([0.0, 1e-9, 1e-3])))
    for i in draw(st.lists(st.integers(0, size - 1), max_size=size // 4)):
        a[i] = draw(st.one_of(_FLOATS, _SPECIAL))
    return a, b


@given(st.one_of(_value_pairs(), _nearly_equal()), st.sampled_from([1.0, 10.0]))
@settings(max_examples=600, deadline=None)
def test_mostly_close_answers_the_same_with_or_without_its_first_points_shortcut(
    pair: tuple[np.ndarray, np.ndarray], looser: float,
) -> None:
    a, b = pair
    finite = np.abs(b[np.isfinite(b)])
    largest = looser * float(finite.max()) if finite.size else 0.0
    # An infinite bound makes the shortcut's tolerance infinite: only the full test decides.
    with np.errstate(all="ignore"):
        assert _mostly_close(a, b, largest) == _mostly_close(a, b, float("inf")), (a, b)


def test_mostly_close_shortcut_rules_out_an_unrelated_slope() -> None:
    x = np.linspace(0.5, 3.0, 40).astype(complex)
    assert not _mostly_close(x**3, 3 * x**2, float(np.abs(3 * x**2).max()))
    assert _mostly_close(3 * x**2 * (1 + 1e-9), 3 * x**2, float(np.abs(3 * x**2).max()))
