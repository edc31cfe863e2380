"""The mpmath evaluator reads magnitudes and finiteness straight off mpf/mpc parts: it must
agree with mpmath's own `mag` and `isfinite` on every kind of number it can meet."""

from __future__ import annotations

import mpmath
from hypothesis import given, settings
from hypothesis import strategies as st

from mathgrader.checker.evaluate import _is_finite, _magnitude

_SPECIAL = [mpmath.mpf(0), mpmath.inf, -mpmath.inf, mpmath.nan]
_REALS = st.one_of(
    st.sampled_from(_SPECIAL),
    st.floats(allow_nan=False, allow_infinity=False).map(mpmath.mpf),
    st.tuples(st.integers(-10**30, 10**30), st.integers(-3000, 3000)).map(
        lambda pair: mpmath.mpf(pair[0]) * mpmath.mpf(2) ** pair[1]),
)
_NUMBERS = st.one_of(_REALS, st.tuples(_REALS, _REALS).map(lambda pair: mpmath.mpc(*pair)),
                     st.integers(-10**20, 10**20))


@given(_NUMBERS, st.sampled_from([15, 50, 300]))
@settings(max_examples=500, deadline=None)
def test_parts_agree_with_mpmath(value: object, dps: int) -> None:
    with mpmath.workdps(dps):
        assert _is_finite(value) == mpmath.isfinite(value), value
        if mpmath.isfinite(value):
            expected = None if value == 0 else int(mpmath.mag(value))
            assert _magnitude(value) == expected, value


def test_arguments_too_large_to_exponentiate_or_reduce_are_refused_not_computed() -> None:
    from mathgrader.checker.evaluate import MAX_ARGUMENT_BITS, NotExact, evaluate_mpmath
    from mathgrader.language.parser import parse_tree

    huge = {"x": mpmath.mpf(2) ** (MAX_ARGUMENT_BITS + 8)}
    fine = {"x": mpmath.mpf(2) ** (MAX_ARGUMENT_BITS - 8)}
    for text in ("exp(x)", "cosh(x)", "sin(x)", "tan(x)", "2^x"):
        node = parse_tree(text).node
        with mpmath.workdps(30):
            try:
                evaluate_mpmath(node, huge)
            except NotExact:
                pass
            else:
                raise AssertionError(f"{text} of 2^{MAX_ARGUMENT_BITS + 8} was computed")
            assert evaluate_mpmath(parse_tree("x - 1").node, fine) > 0  # no guard elsewhere
    with mpmath.workdps(30):  # just below the limit, sin reduces as it always did
        value = evaluate_mpmath(parse_tree("sin(x)^2 + cos(x)^2").node, fine)
    assert abs(value - 1) < 1e-20
