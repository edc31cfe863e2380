"""Feedback that finds the mistake: common slips behind a wrong answer, said in one sentence.

Only ever called for an answer already graded incorrect, and only to choose its feedback: a
detection can never turn a wrong answer right. Each slip is tested by rewriting the answer (or the
reference) and comparing again with the same checker, so "equal up to the slip" means exactly what
"equal" means everywhere else.
"""

from __future__ import annotations

import cmath
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ..errors import InputError
from ..language import ast
from ..language.table import variable_warning
from .evaluate import compile_numpy
from .options import GradeOptions

if TYPE_CHECKING:
    from .equivalence import Checker, Expression, Samples

__all__ = ["extra_variables", "find_slip"]

TRIG = {"sin", "cos", "tan", "cot"}

SIGN = "Your answer has the opposite sign of the expected answer."
FACTOR = "Your answer is off by a constant factor."
OFFSET = "Your answer differs from the expected answer by a constant."
LOG_FOR_LN = "You used log (base 10) where the natural logarithm ln is needed."
LN_FOR_LOG = "You used ln (natural logarithm) where log (base 10) is needed."
DEGREES = "It looks like you worked in degrees; angles here are in radians."
MISSING_TERM = "A term is missing from your answer."
DERIVATIVE = "Your answer is the derivative of the expected answer."
ANTIDERIVATIVE = "The derivative of your answer is the expected answer: differentiate it."


def find_slip(checker: Checker, ref: Expression, learner: Expression, options: GradeOptions,
              deadline: float) -> str | None:
    """The first common slip that explains `learner` against `ref`, or None."""
    extra = extra_variables(ref, learner)
    if extra is not None:
        return extra
    candidates = _rewrites(checker, ref, learner)
    if candidates:
        names = tuple(sorted(ref.names | learner.names))
        samples = checker.samples(ref, options, names, deadline) if names else None
        for message, candidate in candidates:
            if _ruled_out(checker, ref, candidate, samples):
                continue
            if _equal(checker, candidate, options, deadline):
                return message
    numeric = _numeric_slip(checker, ref, learner, options, deadline)
    if numeric is not None:
        return numeric
    return _calculus_slip(checker, ref, learner, options, deadline)


def _equal(checker: Checker, pair: tuple[Expression, Expression], options: GradeOptions,
           deadline: float) -> bool:
    try:
        return checker.compare(pair[0], pair[1], options, deadline).equal
    except InputError:
        return False


def _values(checker: Checker, ref: Expression, expr: Expression, samples: Samples) -> np.ndarray:
    """`expr` at the reference's sample points. The reference's own values and those of its
    rewrites are kept with the samples (every wrong answer to the question tries the same
    rewrites); the answer's come from the comparison that just failed."""
    if expr is ref:
        return samples.values
    if "\x00" not in expr.text:  # the answer itself
        return checker.values_at(expr, samples)
    evaluate = lambda: checker.compiled(expr, samples.names)(samples.points)  # noqa: E731
    if expr.text.startswith(ref.text + "\x00"):
        node = expr.node
        if type(node) is ast.Binary and node.op == "-" and node.left is ref.node:
            evaluate = lambda: _without_values(checker, ref, node.right, samples)  # noqa: E731
        return checker.derived_values(expr.text, samples, evaluate)
    with np.errstate(all="ignore"):
        return evaluate()  # a rewrite of this answer: used once


def _without_values(checker: Checker, ref: Expression, term: ast.Node, samples: Samples
                    ) -> np.ndarray:
    """The values of `ref - term` (the reference without one of its terms) at the samples: the
    reference's values, evaluated once for all its terms, minus the term's. What the compiled
    difference computes, np.subtract of its two sides, without evaluating the whole reference
    again for each term."""
    names = samples.names
    whole = checker.derived_values((ref.text, "values"), samples,
                                   lambda: checker.compiled(ref, names)(samples.points))
    index = {name: i for i, name in enumerate(names)}
    return np.subtract(whole, compile_numpy(term, index)(samples.points))


def _ruled_out(checker: Checker, ref: Expression, pair: tuple[Expression, Expression],
               samples: Samples | None) -> bool:
    """Whether the pair clearly differs at the reference's sample points (or as numbers, when
    there are no variables and so no samples).

    A full comparison costs exact or multi-precision work; most candidate rewrites are far off,
    which a numpy evaluation at points already drawn shows at once. Only clear differences at
    points where the candidate reference is finite and real count (that is its domain), with a
    loose tolerance: a pair this lets through still gets the full comparison, so a slip is
    never reported on the prefilter's word, only missed if the prefilter were wrong.
    """
    if samples is None:
        with np.errstate(all="ignore"):
            empty = np.zeros((0, 1), dtype=complex)
            r, a = (checker.compiled(expr, ())(empty) for expr in pair)
        needed = 1
    else:
        r = _values(checker, ref, pair[0], samples)
        a = _values(checker, ref, pair[1], samples)
        needed = 2
        largest = _largest_of(checker, ref, pair[0], samples, r)
        if largest is not None and _clearly_apart(r, a, largest):
            return True
    with np.errstate(all="ignore"):
        size = np.abs(r)
        ok = np.isfinite(r) & np.isfinite(a) & (np.abs(r.imag) <= 1e-9 * np.maximum(size, 1.0))
        if int(ok.sum()) < needed:
            return False  # cannot tell here: leave it to the full comparison
        r, a, size = r[ok], a[ok], size[ok]
        floor = 1e-6 * max(float(size.max()), 1e-12)
        return bool((np.abs(a - r) > 1e-3 * np.maximum(size, np.abs(a)) + floor).any())


def _largest_of(checker: Checker, ref: Expression, expr: Expression, samples: Samples,
                values: np.ndarray) -> float | None:
    """At least the largest finite |value| of `expr` (a pair's first, the reference side) at
    the samples, kept with them; None for an expression whose values are not kept."""
    if expr is ref:
        return _largest_value(checker, samples)
    if expr.text.startswith(ref.text + "\x00"):  # a rewrite of the reference
        return float(checker.derived_values((expr.text, "largest"), samples,
                                            lambda: _largest(values)))
    return None


def _clearly_apart(r: np.ndarray, a: np.ndarray, largest: float) -> bool:
    """Whether the first points already show what `_ruled_out`'s full test finds: two points
    where both are finite and `r` is real, and at one of them a clear difference.

    Most candidate rewrites are far off at the first point: plain Python on a few values says so
    without the dozen array operations of the full test. `largest` (at least every finite |r|)
    bounds the full test's floor from above, so a difference clear here is clear there too;
    anything else (no decision, or a value too large for Python's complex abs) is left to the
    full test.
    """
    floor = 1e-6 * max(largest, 1e-12)
    isfinite = cmath.isfinite
    seen, apart = 0, False
    try:
        for x, y in zip(r[:8].tolist(), a[:8].tolist(), strict=True):
            if not (isfinite(x) and isfinite(y)):
                continue
            size = abs(x)
            if abs(x.imag) > 1e-9 * max(size, 1.0):
                continue
            seen += 1
            if not apart:
                apart = abs(y - x) > 1e-3 * max(size, abs(y)) + floor
            if apart and seen >= 2:
                return True
    except OverflowError:  # abs() of a complex beyond a float's range
        return False
    return False


def _numeric_slip(checker: Checker, ref: Expression, learner: Expression,
                  options: GradeOptions, deadline: float) -> str | None:
    names = tuple(sorted(ref.names | learner.names))
    if not names:
        return _constant_slip(checker, ref, learner)
    samples = checker.samples(ref, options, names, deadline)
    if samples.values.size < 2:
        return None
    a = checker.values_at(learner, samples)
    if _no_numeric_slip(a, samples.values, _largest_value(checker, samples)):
        return None
    return _sign_factor_offset(a, samples.values)


def _sign_factor_offset(a: np.ndarray, r: np.ndarray) -> str | None:
    """The answer's values `a` against the reference's `r`: the opposite sign, a constant
    factor or a constant offset at every point where both are finite."""
    with np.errstate(all="ignore"):
        ok = np.isfinite(a) & np.isfinite(r)
        a, r = a[ok], r[ok]
        if a.size < 2:
            return None
        nonzero = np.abs(r) > 1e-9
        if nonzero.sum() >= 2:
            if _all_close(a[nonzero], -r[nonzero], 1e-6, 0.0):
                return SIGN
            ratio = a[nonzero] / r[nonzero]
            # A factor of 0 is an answer of 0, not a scaled reference: nothing to say about it.
            if (_all_close(ratio, ratio[0], 1e-6, 0.0) and abs(ratio[0] - 1) > 1e-6
                    and abs(ratio[0]) > 1e-9):
                return FACTOR
        difference = a - r
        scale = max(float(np.max(np.abs(r))), 1.0)
        if (
            _all_close(difference, difference[0], 1e-6, 1e-9 * scale)
            and abs(difference[0]) > 1e-9 * scale
        ):
            return OFFSET
    return None


def _no_numeric_slip(a: np.ndarray, r: np.ndarray, largest: float) -> bool:
    """Whether the first two points where both are finite already rule out a sign, a factor and
    an offset (`_sign_factor_offset` needs each at every point). Most wrong answers are none:
    two points in plain Python settle them without the vector tests. `largest` bounds the
    offset test's scale from above, so a pair this rules out the full test rules out too."""
    pair = [(x, y) for x, y in zip(a[:8].tolist(), r[:8].tolist(), strict=True)
            if cmath.isfinite(x) and cmath.isfinite(y)][:2]
    if len(pair) < 2:
        return False
    (a0, r0), (a1, r1) = pair
    if abs(r0) <= 1e-9 or abs(r1) <= 1e-9:
        return False  # the sign and factor tests skip such points: leave it to them
    d0, d1 = a0 - r0, a1 - r1
    if abs(d1 - d0) <= 1e-9 * largest + 1e-6 * abs(d0):
        return False  # may be an offset
    if abs(a0 + r0) <= 1e-6 * abs(r0) and abs(a1 + r1) <= 1e-6 * abs(r1):
        return False  # may be the opposite sign
    q0, q1 = a0 / r0, a1 / r1
    return abs(q1 - q0) > 1e-6 * abs(q0) or abs(q0 - 1) <= 1e-6


def extra_variables(ref: Expression, learner: Expression) -> str | None:
    """Names a variable the answer uses and the reference does not."""
    extra = sorted(learner.names - ref.names)
    if not extra:
        return None
    noun = "variable" if len(extra) == 1 else "variables"
    message = f"Your answer uses the {noun} {', '.join(extra)}, which the expected answer does not"
    hints = [hint for hint in map(variable_warning, extra) if hint is not None]  # ln5, e
    return message + (f" ({'; '.join(hints)})." if hints else ".")


def _constant_slip(checker: Checker, ref: Expression, learner: Expression) -> str | None:
    """The opposite sign, for numbers (a factor or an offset says nothing about one number)."""
    with np.errstate(all="ignore"):
        empty = np.zeros((0, 1), dtype=complex)
        r = complex(checker.compiled(ref, ())(empty)[0])
        a = complex(checker.compiled(learner, ())(empty)[0])
    if np.isfinite(r) and abs(r) > 1e-12 and abs(a + r) <= 1e-9 * abs(r):
        return SIGN
    return None


def _rewrites(checker: Checker, ref: Expression, learner: Expression
              ) -> list[tuple[str, tuple[Expression, Expression]]]:
    from .equivalence import Expression

    def derived(tag: str, node: ast.Node, base: Expression) -> Expression:
        return Expression.from_node(f"{base.text}\x00{tag}", node)

    candidates: list[tuple[str, tuple[Expression, Expression]]] = []
    if "log" in learner.functions:
        node = _rename_calls(learner.node, {"log": "ln"})
        candidates.append((LOG_FOR_LN, (ref, derived("ln-for-log", node, learner))))
    if "ln" in learner.functions:
        node = _rename_calls(learner.node, {"ln": "log"})
        candidates.append((LN_FOR_LOG, (ref, derived("log-for-ln", node, learner))))
    if learner.functions & TRIG:
        node = _map_calls(learner.node, TRIG, lambda call: ast.Call(
            call.start, call.end, call.name,
            (ast.Call(call.start, call.end, "rad", call.args, call.name_end),), call.name_end))
        candidates.append((DEGREES, (ref, derived("radians", node, learner))))
    for without in checker.cached(("without-a-term", ref.text), lambda: _without_a_term(ref)):
        candidates.append((MISSING_TERM, (without, learner)))
    return candidates


def _without_a_term(ref: Expression) -> list[Expression]:
    """The reference with each of its terms left out in turn (when it has two or more)."""
    from .equivalence import Expression

    terms = _terms(ref.node)
    if len(terms) < 2:
        return []
    return [
        Expression.from_node(f"{ref.text}\x00without-{i}",
                             ast.Binary(ref.node.start, ref.node.end, "-", ref.node, term))
        for i, term in enumerate(terms)
    ]


def _calculus_slip(checker: Checker, ref: Expression, learner: Expression,
                   options: GradeOptions, deadline: float) -> str | None:
    """Derivative / antiderivative mix-ups, by central differences on the compiled evaluators."""
    if len(ref.names) != 1 or not learner.names <= ref.names:
        return None
    names = tuple(sorted(ref.names))
    if options.domain_of(names[0]) in ("integer", "complex"):
        return None
    samples = checker.samples(ref, options, names, deadline)
    x = samples.points
    if x.shape[1] < 4:
        return None
    n = x.shape[1]
    # Kept with the samples as one entry (not an array: derived_values stores any value).
    make = cast(Callable[[], np.ndarray],
                lambda: _reference_slope(checker.compiled(ref, names), x))
    entry: Any = checker.derived_values("calculus", samples, make)
    width, shifted, ref_slope, steepest = entry
    ans_fn = checker.compiled(learner, names)
    answer = checker.values_at(learner, samples)
    with np.errstate(all="ignore"):
        if _mostly_close(answer, ref_slope, float(steepest)):
            return DERIVATIVE
        # Both sides at once: one evaluation of the answer instead of two (its cost is per
        # operation, hardly per point), the same values elementwise.
        both = ans_fn(shifted)
        answer_slope = (both[:n] - both[n:]) / width
        if _mostly_close(answer_slope, samples.values, _largest_value(checker, samples)):
            return ANTIDERIVATIVE
    return None


def _reference_slope(ref_fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What the calculus test needs of a reference at its samples, kept with them in one entry
    (one lookup per wrong answer, not six): the central difference's width, the points one step
    above and below side by side, the reference's slope and its largest finite |slope|."""
    step = 1e-5 * (1 + np.abs(x))
    above, below = x + step, x - step
    width = 2 * step[0]
    slope = (ref_fn(above) - ref_fn(below)) / width
    return width, np.concatenate((above, below), axis=1), slope, _largest(slope)


def _largest_value(checker: Checker, samples: Samples) -> float:
    """The largest |value| of the reference at its samples, or 1 if less (cached with them)."""
    return float(checker.derived_values(
        "largest", samples, lambda: np.array(max(float(np.abs(samples.values).max()), 1.0))))


def _largest(values: np.ndarray) -> np.ndarray:
    finite = np.abs(values[np.isfinite(values)])
    return np.array(float(finite.max()) if finite.size else 0.0)


def _mostly_close(a: np.ndarray, b: np.ndarray, largest: float) -> bool:
    """Close at nearly every point where both are finite (kinks of abs or floor may differ).

    `largest` (at least every finite |b|) lets the first points rule it out in plain Python:
    with a looser tolerance than the test's, more failures there than the test allows in all.
    """
    allowed = 0.1 * a.size  # at least 10% of the points where both are finite
    floor = 1e-7 * max(largest, 1e-12)
    isfinite = cmath.isfinite
    failures = 0
    for x, y in zip(a[:16].tolist(), b[:16].tolist(), strict=True):
        if isfinite(x) and isfinite(y) and abs(x - y) > 1e-5 * abs(y) + floor:
            failures += 1
            if failures > allowed:
                return False  # the rest of the points cannot bring it back
    finite = np.isfinite(a) & np.isfinite(b)
    if finite.sum() < 4:
        return False
    a, b = a[finite], b[finite]
    size = np.sort(np.abs(b))
    scale = max(float(size[size.size // 2]), 1e-12)  # a median: np.median costs more than this
    close = np.abs(a - b) <= 1e-5 * np.abs(b) + 1e-7 * scale
    # Close to values that are (nearly) all 0 says nothing: floor(x/1000) has slope 0 but at
    # its jump, and 0 is no "derivative" slip.
    return bool(close.mean() >= 0.9) and not bool((np.abs(b) <= 1e-8).mean() >= 0.9)


def _all_close(a: np.ndarray, b: np.ndarray | complex, rtol: float, atol: float) -> bool:
    """np.allclose for finite arrays, without its overhead (it dominated slip detection)."""
    return bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


def _size(node: ast.Node) -> int:
    return sum(1 for _ in ast.walk(node))


def _terms(node: ast.Node) -> list[ast.Node]:
    """Top-level terms of a sum, each carrying its sign."""
    node = ast.strip_groups(node)
    if isinstance(node, ast.Binary) and node.op in "+-":
        right = node.right if node.op == "+" else ast.Unary(
            node.right.start, node.right.end, "-", node.right)
        return _terms(node.left) + [right]
    return [node]


def _rename_calls(node: ast.Node, names: dict[str, str]) -> ast.Node:
    return _map_calls(node, set(names), lambda call: ast.Call(
        call.start, call.end, names[call.name], call.args, call.name_end))


def _map_calls(node: ast.Node, names: set[str],
               change: Callable[[ast.Call], ast.Node]) -> ast.Node:
    """The tree with every call to one of `names` replaced by `change(call)`.

    Parts without such a call are the original nodes (trees are immutable, so sharing them is
    safe), and changed parts are built with the node constructors: `dataclasses.replace` on
    every node cost more than the rest of a rewrite.
    """
    kind = type(node)
    if kind is ast.Call:
        args = tuple(_map_calls(arg, names, change) for arg in node.args)  # type: ignore[attr-defined]
        call = node if _same(args, node.args) else ast.Call(  # type: ignore[attr-defined]
            node.start, node.end, node.name, args, node.name_end)  # type: ignore[attr-defined]
        return change(call) if node.name in names else call  # type: ignore[attr-defined,arg-type]
    if kind is ast.Binary:
        left = _map_calls(node.left, names, change)  # type: ignore[attr-defined]
        right = _map_calls(node.right, names, change)  # type: ignore[attr-defined]
        if left is node.left and right is node.right:  # type: ignore[attr-defined]
            return node
        return ast.Binary(node.start, node.end, node.op, left, right)  # type: ignore[attr-defined]
    if kind is ast.Unary:
        operand = _map_calls(node.operand, names, change)  # type: ignore[attr-defined]
        if operand is node.operand:  # type: ignore[attr-defined]
            return node
        return ast.Unary(node.start, node.end, node.op, operand)  # type: ignore[attr-defined]
    if kind is ast.Group:
        inner = _map_calls(node.inner, names, change)  # type: ignore[attr-defined]
        return node if inner is node.inner else ast.Group(  # type: ignore[attr-defined]
            node.start, node.end, inner)
    if kind is ast.Sequence:
        items = tuple(_map_calls(item, names, change) for item in node.items)  # type: ignore[attr-defined]
        return node if _same(items, node.items) else ast.Sequence(  # type: ignore[attr-defined]
            node.start, node.end, items, node.bracket)  # type: ignore[attr-defined]
    return node


def _same(new: tuple[ast.Node, ...], old: tuple[ast.Node, ...]) -> bool:
    return all(a is b for a, b in zip(new, old, strict=True))
