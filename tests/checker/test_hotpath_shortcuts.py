"""The checker's per-check shortcuts decide exactly what the plain code decides.

- `_close` takes the tolerance a question's samples keep: the same as working it out;
- `_facts` leaves a variable to a literal power out of what `check_sizes` must look at;
- `_mp_equal`'s rounding noise comes from a cache: the same number.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mathgrader.checker import equivalence
from mathgrader.checker.equivalence import _close, _default_tolerance, _facts, _power_of_ten
from mathgrader.checker.options import GradeOptions
from mathgrader.errors import InputError
from mathgrader.language.limits import check_sizes
from mathgrader.language.parser import parse_tree
from strategies import property_settings

SPECIAL = [0.0, -0.0, 1.0, -1.0, 1e-12, 1e300, math.inf, -math.inf, math.nan, 1e-9, 1.001e-3]
parts = st.one_of(st.sampled_from(SPECIAL), st.floats(allow_nan=True, allow_infinity=True),
                  st.floats(-10, 10))
values = st.lists(st.tuples(parts, parts), min_size=1, max_size=12).map(
    lambda pairs: np.array([complex(x, y) for x, y in pairs]))


def _near(r: np.ndarray, draw: st.DrawFn) -> np.ndarray:
    """Answers at and around the reference's values, and far off."""
    scale = draw(st.sampled_from([0.0, 1e-12, 1e-9, 1e-6, 9.99e-4, 1e-3, 1.01e-3, 1e-2, 1.0]))
    noise = np.array([draw(parts) for _ in range(r.size)], dtype=complex)
    with np.errstate(all="ignore"):
        return np.where(np.isfinite(noise), r * (1 + scale * np.sign(noise.real)) + scale, noise)


@st.composite
def pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    r = draw(values)
    a = draw(st.one_of(st.just(_near(r, draw)), values.filter(lambda a: a.size == r.size)))
    if a.size != r.size:
        a = _near(r, draw)
    return r, a


@given(pairs(), st.floats(0, 1e3))
@property_settings(300)
def test_close_with_the_samples_tolerance(pair: tuple[np.ndarray, np.ndarray],
                                          floor: float) -> None:
    r, a = pair
    floor_scale = np.full(r.shape, floor if floor else 1.0)
    options = GradeOptions()
    with np.errstate(all="ignore"):
        kept = _default_tolerance(r, floor_scale)
    assert np.array_equal(_close(a, r, floor_scale, options, kept),
                          _close(a, r, floor_scale, options))


SIZES = ["x^10000", "x^-10000", "x^10001", "x^-10001", "(x)^(-(3))", "((x))^2 + 10^5000",
         "x^2 * 10^5000", "x^2^10001", "x^(2^20)", "(x^2)^10000", "x^2 + exp(10^6)",
         "x^2 + binomial(10^9, 2)", "x^2", "y^3 - x^(1/2)"]


@pytest.mark.parametrize("text", SIZES)
def test_variable_powers_are_not_sized(text: str) -> None:
    node = parse_tree(text).node
    sized = _facts(node)[5]
    try:
        check_sizes(node, text)
    except InputError:
        assert sized, text  # refused: the walk must have said it could be


@pytest.mark.parametrize("exponent", [-300, -175, -21, 0, 7])
@pytest.mark.parametrize("dps", [100, 200, 260])
def test_power_of_ten_is_the_plain_one(exponent: int, dps: int) -> None:
    with mpmath.workdps(dps):
        plain = mpmath.mpf(10) ** exponent
    cached = _power_of_ten(exponent, dps)
    assert cached == plain and cached._mpf_ == plain._mpf_  # noqa: SLF001


def test_samples_keep_the_default_tolerance() -> None:
    checker = equivalence.Checker()
    ref = checker.reference("sin(x)/x + 1/(x - 1)")
    samples = checker.samples(ref, GradeOptions(), ("x",), math.inf)
    with np.errstate(all="ignore"):
        assert np.array_equal(samples.tolerance,
                              _default_tolerance(samples.values, samples.floor_scale))
