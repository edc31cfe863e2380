"""Probe points beyond the sampled range, where a piecewise function changes its piece.

Random samples of a real variable stay within a few dozen of zero (`sampling`), so two answers
that agree there but part ways far out look equal: `0.2*max(x - 10000, 0)` (a tax above an
allowance) against `0`, `abs(x - 10^5)` against `10^5 - x`, `x + max(x - 10^4, 0)` against `x`.
What makes them part is a switch: the argument of abs, sign, floor or ceiling, the quotient of
mod, or the difference of two arguments of max or min, changing sign. This module finds where
such a switch changes sign along each variable (the other variables held at a sampled point),
on a log-spaced grid out to `REACH` and then by bisection, and returns points on both sides of
each such place that the samples barely visit. The checker compares both expressions there
after they agree everywhere else.

Only switches built from arithmetic are followed (no function call inside): their roots are
where they are, while the sign changes of `abs(sin(x))` lie everywhere and are sampled already;
and at 10^10, `sin(x + 2*pi)` and `sin(x)` differ by floating point alone. `REACH` keeps the
probes where floating point still tells values apart at the default tolerance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction

import numpy as np

from ..language import ast
from .evaluate import compile_numpy
from .options import Domain

__all__ = ["PIECEWISE", "REACH", "kink_points", "switches"]

PIECEWISE = frozenset({"abs", "sign", "floor", "ceiling", "mod", "max", "min"})
REACH = 1e9  # probes stay within +-REACH
_MANTISSAS = (1.0, 2.0, 5.0)
# 0, then +-m*10^k from 0.1 out to REACH: the places between two of these where a switch
# changes sign are bisected.
_GRID = np.array(sorted({0.0} | {s * m * 10.0 ** k for s in (-1, 1) for m in _MANTISSAS
                                 for k in range(-1, 10) if m * 10.0 ** k <= REACH}))
# A bracket of width 1.5x its lower end shrinks to 4e-4 of it: the probes nearest a root, 2e-3
# of it away, are then on its two sides.
_BISECTIONS = 12
_VISITED = 3  # samples on each side of a root for its pieces to count as visited
_MAX_ROOTS = 8  # per switch and variable: a switch with more is no step function
_MAX_SWITCHES = 16  # per expression: max(a1, ..., a100) has 4950 pairwise differences


def switches(node: ast.Node) -> list[ast.Node]:
    """The expressions whose sign change switches a piece of `node`, built from arithmetic
    alone: abs/sign/floor/ceiling's argument (and floor/ceiling's argument minus 1, its next
    step), mod's quotient, the pairwise differences of max/min's arguments."""
    found: list[ast.Node] = []
    for call in ast.walk(node):
        if not isinstance(call, ast.Call) or call.name not in PIECEWISE:
            continue
        args = call.args
        candidates: list[ast.Node]
        if call.name in ("max", "min"):
            candidates = [_minus(a, b) for i, a in enumerate(args) for b in args[i + 1:]]
        elif call.name == "mod" and len(args) == 2:
            quotient = ast.Binary(call.start, call.end, "/", args[0], args[1])
            candidates = [quotient, _minus(quotient, _ONE)]
        elif call.name in ("floor", "ceiling") and len(args) == 1:
            candidates = [args[0], _minus(args[0], _ONE)]
        else:
            candidates = list(args[:1])
        found += [c for c in candidates if _arithmetic(c)]
    return found


_ONE = ast.Number(0, 0, "1", Fraction(1), False)


def _minus(a: ast.Node, b: ast.Node) -> ast.Node:
    return ast.Binary(a.start, b.end, "-", a, b)


def _arithmetic(node: ast.Node) -> bool:
    return not any(type(n) in (ast.Call, ast.Sequence) for n in ast.walk(node)) and any(
        type(n) is ast.Name for n in ast.walk(node))


def kink_points(nodes: list[ast.Node], names: tuple[str, ...], base: np.ndarray,
                samples: np.ndarray, domain_of: Callable[[str], Domain],
                check: Callable[[], None]) -> np.ndarray:
    """Points (variables x points, complex) on both sides of each place where one of `nodes`'
    switches changes sign along one variable, that `samples` (variables x points) barely
    visit. `base` (one column) holds the other variables; `check` is called between switches
    (it raises when the check's time is up). Empty when there is none."""
    index = {name: i for i, name in enumerate(names)}
    columns: list[np.ndarray] = []
    for node in nodes:
        for switch in switches(node)[:_MAX_SWITCHES]:
            check()
            fn = compile_numpy(switch, index)
            for row, name in enumerate(names):
                domain = domain_of(name)
                if domain == "complex":
                    continue
                for value in _probes(fn, base, row, samples[row].real, domain):
                    column = base.copy()
                    column[row] = value
                    columns.append(column)
    if not columns:
        return np.zeros((len(names), 0), dtype=complex)
    return np.unique(np.stack(columns, axis=1), axis=1)


def _probes(fn: Callable[[np.ndarray], np.ndarray], base: np.ndarray, row: int,
            sampled: np.ndarray, domain: Domain) -> Iterator[float]:
    """Values of variable `row` on both sides of each root of `fn` along it that the samples
    barely visit: half the root's size away, and 1/500 of it away, each as short a number as
    stays on its side (`x = 10020`, not `x = 10019.9873`: the feedback names the point)."""
    for lo, hi in _roots(fn, base, row, sampled):
        root = (lo + hi) / 2
        step = abs(root) / 2 or 0.5
        for value in (root - step, root - step / 500, root + step / 500, root + step):
            side = (lo, -np.inf) if value < root else (np.inf, hi)
            probe = _in_domain(_short(value, root, *side), root, domain)
            if probe is not None:
                yield probe


def _short(value: float, root: float, below: float, above: float) -> float:
    """`value` to the fewest significant digits that keep it below `below` and above `above`
    (on its side of a root's bracket), from half to 1.5 times as far from `root`."""
    for digits in range(1, 16):
        short = float(f"{value:.{digits}g}")
        if short < below and short > above and (
                abs(value - root) / 2 <= abs(short - root) <= abs(value - root) * 1.5):
            return short
    return value


def _in_domain(value: float, root: float, domain: Domain) -> float | None:
    if domain == "integer":
        # The nearest integer on the same side of the root.
        value = float(np.floor(value) if value < root else np.ceil(value))
        return value if value != root else None
    if domain == "positive":
        return value if value > 0 else None
    if isinstance(domain, tuple):
        low, high = domain
        return value if low < value < high else None
    return value


def _roots(fn: Callable[[np.ndarray], np.ndarray], base: np.ndarray, row: int,
           sampled: np.ndarray) -> list[tuple[float, float]]:
    """Where `fn` (real there) changes sign along variable `row`, within +-REACH, as brackets
    (low, high) of the root, but for places with `_VISITED` or more of the `sampled` values on
    either side."""
    values = _along(fn, base, row, _GRID)
    sign = np.sign(values)
    usable = np.isfinite(values)
    change = np.flatnonzero(usable[:-1] & usable[1:] & (sign[:-1] * sign[1:] < 0))
    exact = _GRID[usable & (values == 0)]
    if change.size + exact.size > _MAX_ROOTS:
        return []
    lo, hi = _GRID[change], _GRID[change + 1]
    ordered = np.sort(sampled)
    seen = np.minimum(np.searchsorted(ordered, lo), ordered.size - np.searchsorted(
        ordered, hi, side="right")) >= _VISITED
    lo, hi, lo_sign = lo[~seen], hi[~seen], sign[change][~seen]
    exact = exact[np.minimum(np.searchsorted(ordered, exact), ordered.size - np.searchsorted(
        ordered, exact, side="right")) < _VISITED]
    for _ in range(_BISECTIONS):
        if not lo.size:
            break
        mid = (lo + hi) / 2
        mid_sign = np.sign(_along(fn, base, row, mid))
        same = mid_sign == lo_sign
        lo, hi = np.where(same, mid, lo), np.where(same, hi, mid)
    return [(float(r), float(r)) for r in exact] + [
        (float(a), float(b)) for a, b in zip(lo, hi, strict=True)]


def _along(fn: Callable[[np.ndarray], np.ndarray], base: np.ndarray, row: int,
           values: np.ndarray) -> np.ndarray:
    """The real part of `fn` where variable `row` takes `values` (nan where it is not real)."""
    points = np.repeat(base[:, None], values.size, axis=1)
    points[row] = values
    with np.errstate(all="ignore"):
        result = fn(points)
    real = np.abs(result.imag) <= 1e-9 * np.maximum(np.abs(result.real), 1.0)
    return np.where(real, result.real, np.nan)

