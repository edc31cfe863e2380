"""Slip feedback's shortcuts decide exactly what the plain code decides.

- `_clearly_apart` (a few points in plain Python) only rules out a candidate rewrite that the
  full numpy test of `_ruled_out` rules out too;
- `_map_calls` shares the parts of the tree it does not change and builds the rest with the node
  constructors: the same tree as `dataclasses.replace` on every node;
- the calculus test keeps what it needs of a reference in one entry and evaluates the answer
  above and below its samples at once: the same verdicts as two evaluations and six entries;
- the reference without one of its terms is the reference's values minus the term's: the same
  values, bit for bit, as compiling and evaluating the difference.

Each is compared with the code it replaced, kept here.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from mathgrader.checker import equivalence, slips
from mathgrader.checker.options import GradeOptions
from mathgrader.errors import InputError
from mathgrader.language import ast
from mathgrader.language.parser import parse_tree
from strategies import EXACT, GRAMMAR, expressions, property_settings

# ------------------------------------------------------------------------ _clearly_apart


def _full_test(r: np.ndarray, a: np.ndarray, needed: int = 2) -> bool:
    """The numpy test of `_ruled_out`, as it is after its shortcut."""
    with np.errstate(all="ignore"):
        size = np.abs(r)
        ok = np.isfinite(r) & np.isfinite(a) & (np.abs(r.imag) <= 1e-9 * np.maximum(size, 1.0))
        if int(ok.sum()) < needed:
            return False
        r, a, size = r[ok], a[ok], size[ok]
        floor = 1e-6 * max(float(size.max()), 1e-12)
        return bool((np.abs(a - r) > 1e-3 * np.maximum(size, np.abs(a)) + floor).any())


_SPECIAL = [0.0, -0.0, 1.0, -1.0, 1e-12, 1e-9, 1e300, 1.7e308, math.inf, -math.inf, math.nan]
_parts = st.one_of(st.sampled_from(_SPECIAL), st.floats(-1e6, 1e6), st.floats())


@st.composite
def _value_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    size = draw(st.integers(1, 12))
    r = np.array([complex(draw(_parts), draw(st.one_of(st.just(0.0), _parts)))
                  for _ in range(size)])
    how = draw(st.sampled_from(["same", "near", "far", "any"]))
    with np.errstate(all="ignore"):
        if how == "same":
            a = r.copy()
        elif how == "near":
            a = r * (1 + draw(st.sampled_from([1e-9, 1e-4, 9.9e-4, 1e-3, 1.1e-3])))
        elif how == "far":
            a = r * 3 + 1
        else:
            a = np.array([complex(draw(_parts), draw(_parts)) for _ in range(size)])
    return r, a


@given(_value_pairs(), st.sampled_from([1.0, 10.0, math.inf]))
@property_settings(600)
def test_clearly_apart_only_rules_out_what_the_full_test_rules_out(
        pair: tuple[np.ndarray, np.ndarray], looser: float) -> None:
    r, a = pair
    finite = np.abs(r[np.isfinite(r)])
    with np.errstate(all="ignore"):
        largest = looser * float(finite.max()) if finite.size else 0.0
    if slips._clearly_apart(r, a, largest):
        assert _full_test(r, a), (r, a)


def test_clearly_apart_decides_a_far_candidate() -> None:
    r = np.array([1.5, -2.0, 3.25, 0.5], dtype=complex)
    assert slips._clearly_apart(r, r * 3 + 1, 3.25)
    assert not slips._clearly_apart(r, r * (1 + 1e-9), 3.25)


# ---------------------------------------------------------------------------- _map_calls


def _plain_map_calls(node: ast.Node, names: set[str],
                     change: Callable[[ast.Call], ast.Node]) -> ast.Node:
    """_map_calls as it was: a copy of every node by dataclasses.replace."""
    if isinstance(node, ast.Call):
        args = tuple(_plain_map_calls(arg, names, change) for arg in node.args)
        call = dataclasses.replace(node, args=args)
        return change(call) if node.name in names else call
    if isinstance(node, ast.Binary):
        return dataclasses.replace(node, left=_plain_map_calls(node.left, names, change),
                                   right=_plain_map_calls(node.right, names, change))
    if isinstance(node, ast.Unary):
        return dataclasses.replace(node, operand=_plain_map_calls(node.operand, names, change))
    if isinstance(node, ast.Group):
        return dataclasses.replace(node, inner=_plain_map_calls(node.inner, names, change))
    if isinstance(node, ast.Sequence):
        return dataclasses.replace(
            node, items=tuple(_plain_map_calls(item, names, change) for item in node.items))
    return node


_CHANGES: list[tuple[set[str], Callable[[ast.Call], ast.Node], Callable[[ast.Call], ast.Node]]] = [
    ({"log"}, lambda c: dataclasses.replace(c, name="ln"),
     lambda c: ast.Call(c.start, c.end, "ln", c.args, c.name_end)),
    (slips.TRIG,
     lambda c: dataclasses.replace(c, args=(ast.Call(c.start, c.end, "rad", c.args,
                                                     c.name_end),)),
     lambda c: ast.Call(c.start, c.end, c.name,
                        (ast.Call(c.start, c.end, "rad", c.args, c.name_end),), c.name_end)),
]

_CALL_TEXTS = ["sin(x)^2 + cos(2*x)", "log(x) + ln(log(x))", "gcd((4, sin(x)))", "-(tan(x))",
               "x + 1", "cot(cot(x))/sin(log(x))", "max(sin(x), log(2), x)"]


@given(st.one_of(expressions(GRAMMAR), expressions(EXACT), st.sampled_from(_CALL_TEXTS)))
@property_settings(300)
def test_map_calls_is_the_copy_by_replace(text: str) -> None:
    try:
        node = parse_tree(text).node
    except InputError:
        return
    for names, plain_change, change in _CHANGES:
        expected = _plain_map_calls(node, names, plain_change)
        assert slips._map_calls(node, names, change) == expected, text
        if names == {"log"}:
            assert slips._rename_calls(node, {"log": "ln"}) == expected, text


# ------------------------------------------------------------------------ the calculus test


def _plain_calculus_slip(checker: equivalence.Checker, ref: equivalence.Expression,
                         learner: equivalence.Expression, options: GradeOptions) -> str | None:
    """_calculus_slip as it was: six entries, the answer evaluated above and below apart."""
    if len(ref.names) != 1 or not learner.names <= ref.names:
        return None
    names = tuple(sorted(ref.names))
    if options.domain_of(names[0]) in ("integer", "complex"):
        return None
    samples = checker.samples(ref, options, names, math.inf)
    x = samples.points
    if x.shape[1] < 4:
        return None
    ref_fn, ans_fn = checker.compiled(ref, names), checker.compiled(learner, names)
    with np.errstate(all="ignore"):
        step = 1e-5 * (1 + np.abs(x))
        above, below = x + step, x - step
        width = 2 * step[0]
        ref_slope = (ref_fn(above) - ref_fn(below)) / width
        steepest = slips._largest(ref_slope)
        answer = ans_fn(x)
        if slips._mostly_close(answer, ref_slope, float(steepest)):
            return slips.DERIVATIVE
        answer_slope = (ans_fn(above) - ans_fn(below)) / width
        if slips._mostly_close(answer_slope, samples.values,
                               max(float(np.abs(samples.values).max()), 1.0)):
            return slips.ANTIDERIVATIVE
    return None


_SLOPES = [("x^3", "3*x^2"), ("3*x^2", "x^3"), ("sin(x)", "cos(x)"), ("cos(x)", "sin(x)"),
           ("exp(2*x)", "2*exp(2*x)"), ("ln(x)", "1/x"), ("1/x", "ln(abs(x))"), ("x^2", "x^2 + 1"),
           ("abs(x)", "sign(x)"), ("floor(x)", "0"), ("sqrt(x)", "1/(2*sqrt(x))"), ("x", "1")]


@given(st.one_of(st.sampled_from(_SLOPES),
                 st.tuples(expressions(EXACT), expressions(EXACT)),
                 st.tuples(expressions(GRAMMAR), expressions(GRAMMAR))),
       st.sampled_from([{}, {"x": "positive"}, {"x": (0, 10)}]))
@property_settings(150)
def test_calculus_slip_is_the_plain_one(pair: tuple[str, str],
                                        variables: dict[str, object]) -> None:
    options = GradeOptions.from_mapping({"variables": variables} if variables else {})
    checker = equivalence.Checker()
    try:
        ref = checker.reference(pair[0])
        learner = checker._learner(pair[1], [ref], options)[0]  # noqa: SLF001
        expected = _plain_calculus_slip(checker, ref, learner, options)
    except (InputError, equivalence.ConfigError, TypeError):
        return
    fresh = equivalence.Checker()
    ref = fresh.reference(pair[0])
    learner = fresh._learner(pair[1], [ref], options)[0]  # noqa: SLF001
    assert slips._calculus_slip(fresh, ref, learner, options, math.inf) == expected, pair
    # And again from the entry kept with the samples.
    assert slips._calculus_slip(fresh, ref, learner, options, math.inf) == expected, pair


def test_the_calculus_slips_are_found() -> None:
    for ref, answer, slip in (("x^3", "3*x^2", slips.DERIVATIVE),
                              ("3*x^2", "x^3", slips.ANTIDERIVATIVE)):
        assert equivalence.check(ref, answer, GradeOptions()).feedback == slip


# -------------------------------------------------- _ruled_out on the candidates slips tries


_CANDIDATE_REFS = ["3*x^2 + 2*x - 5", "x^3 + 6*x^2 + 12*x + 8", "1/(x - 1) - 1/(x + 1)",
                   "sin(x) + cos(x)", "ln(x)/ln(10)", "2*ln(x) + ln(y)", "1000000*x^2 + x - 1"]
_CANDIDATE_ANSWERS = ["3*x^2 + 2*x + 5", "x^3 + 8", "log(x)", "sin(x)*cos(x)", "ln(x)",
                      "1000000*x^2", "x + 1", "2*x", "ln(x)*ln(10)", "x - 1"]


@given(st.one_of(st.tuples(st.sampled_from(_CANDIDATE_REFS), st.sampled_from(_CANDIDATE_ANSWERS)),
                 st.tuples(expressions(EXACT), expressions(GRAMMAR))))
@property_settings(150)
def test_ruled_out_is_the_full_test_on_the_candidates(pair: tuple[str, str]) -> None:
    checker = equivalence.Checker()
    options = GradeOptions()
    try:
        ref = checker.reference(pair[0])
        learner = checker._learner(pair[1], [ref], options)[0]  # noqa: SLF001
        names = tuple(sorted(ref.names | learner.names))
        if not names:
            return
        samples = checker.samples(ref, options, names, math.inf)
        candidates = slips._rewrites(checker, ref, learner)
    except (InputError, equivalence.ConfigError, TypeError):
        return
    for _, candidate in candidates:
        r = slips._values(checker, ref, candidate[0], samples)
        a = slips._values(checker, ref, candidate[1], samples)
        largest = slips._largest_of(checker, ref, candidate[0], samples, r)
        finite = np.abs(r[np.isfinite(r)])
        assert largest is None or not finite.size or largest >= finite.max(), pair
        assert slips._ruled_out(checker, ref, candidate, samples) == _full_test(r, a), pair


# ------------------------------------------------- the reference without a term, at its samples

_SUMS = ["3*x^2 + 2*x - 5", "x^3 + 6*x^2 + 12*x + 8", "sin(x) + cos(x) - x", "2*ln(x) + ln(y)",
         "1/(x - 1) - 1/(x + 1)", "-x^2 - (x - 1) + 2^x", "x*y - x + y", "abs(x) - sqrt(x) + 1"]


@given(st.one_of(st.sampled_from(_SUMS), expressions(EXACT), expressions(GRAMMAR)),
       st.sampled_from([{}, {"x": "positive"}, {"x": (-2, 2)}]))
@property_settings(150)
def test_values_without_a_term_are_the_compiled_difference(
        text: str, variables: dict[str, object]) -> None:
    checker = equivalence.Checker()
    options = GradeOptions.from_mapping({"variables": variables} if variables else {})
    try:
        ref = checker.reference(text)
        names = tuple(sorted(ref.names))
        if not names:
            return
        samples = checker.samples(ref, options, names, math.inf)
    except (InputError, equivalence.ConfigError, TypeError):
        return
    for without in slips._without_a_term(ref):
        with np.errstate(all="ignore"):
            expected = checker.compiled(without, names)(samples.points)
        found = slips._values(checker, ref, without, samples)
        assert found.shape == expected.shape
        assert [v.tobytes() for v in found] == [v.tobytes() for v in expected], text
