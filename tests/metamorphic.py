"""Metamorphic relations for the grader, with an independent numeric oracle.

A generated expression (the reference) is rewritten by SymPy (expand, factor, trigsimp, rewrites
between exp, trig and hyperbolic forms...) and printed back in the learner syntax: the grader must
call the rewrite correct. It is also perturbed (add 1, multiply by 2, change one number, swap one
function): the grader must not call that correct. Neither SymPy nor our own reading of a
perturbation is trusted blindly: an oracle evaluates both sides with SymPy's `evalf` (30 digits,
principal branches) at seeded real points, on the reference's domain as the contract defines it
(the points where the reference is real and finite; where it is nowhere real, where it is
finite). A rewrite that is not an identity there, or a perturbation that changes no value there,
is skipped, not counted.

The oracle shares nothing with the checker (which evaluates its own syntax tree with numpy and
mpmath), so agreement between them means something. Used by tests/checker/test_metamorphic.py
(hypothesis) and scripts/fuzz.py (a long seeded run that counts false positives and negatives).
"""

from __future__ import annotations

import math
import random
import re
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sympy as sp

import mathgrader
from learner_printer import NotLearnerSyntax, to_learner
from mathgrader import InputError
from mathgrader.language.table import FUNCTIONS

__all__ = [
    "PERTURBATIONS",
    "REWRITES",
    "Case",
    "Skip",
    "Subject",
    "identity_case",
    "perturbation_case",
    "prepare",
    "rewrite_case",
    "time_limit",
]

SYMPY_SECONDS = 3  # a rewrite or an oracle evaluation that takes longer is skipped
MIN_DOMAIN = 4  # as the checker: fewer real points than this and the reference is "nowhere real"
GENERIC_POINTS = 19  # random points first, then lattice points
SYMMETRY_POINTS = 8


class Skip(Exception):
    """This example cannot decide anything (not an identity, too slow, unprintable...)."""


class _Slow(Exception):
    pass


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise `Skip` when the block runs longer than `seconds` (SymPy can take minutes on a
    rewrite of an innocent-looking expression). Main thread only, POSIX only."""

    def alarm(signum: int, frame: Any) -> None:
        raise _Slow

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    except _Slow:
        raise Skip("SymPy took too long") from None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# ----------------------------------------------------------------------------------- oracle

_LATTICE = tuple(sp.Rational(n, d) for n, d in [
    (0, 1), (1, 1), (-1, 1), (2, 1), (-2, 1), (3, 1), (1, 2), (-1, 2), (1, 3), (-3, 2)])

Point = dict[sp.Symbol, sp.Expr]


def _points(symbols: list[sp.Symbol], seed: int) -> list[Point]:
    """Seeded real points: moderate values, small ones and a few large ones (30-digit floats),
    then exact lattice points (0, 1, -1, each variable at 0 in turn...) where a domain may begin
    or end, as the checker's own sampling has them."""
    if not symbols:
        return [{}]
    rng = random.Random(seed)
    draws: list[Callable[[], float]] = (
        [lambda: rng.uniform(-4, 4)] * 12 + [lambda: rng.uniform(-1, 1)] * 4
        + [lambda: rng.uniform(-30, 30)] * 3
    )
    assert len(draws) == GENERIC_POINTS
    points: list[Point] = [{s: sp.Float(draw(), 30) for s in symbols} for draw in draws]
    points += [{s: sp.Integer(value) for s in symbols} for value in (0, 1, -1)]
    for zero in symbols:
        points.append({s: sp.Integer(0) if s == zero else rng.choice(_LATTICE) for s in symbols})
    points += [{s: rng.choice(_LATTICE) for s in symbols} for _ in range(2)]
    return points


def _value(expr: sp.Expr, point: Point) -> complex | None:
    """`expr` at `point` to 30 digits, or None where it is undefined or infinite.

    Exact points are substituted exactly first, so that a pole or ln(0) on the way is undefined
    (SymPy's zoo/nan), as the checker reads it, not the limit that floating point may reach
    (exp(3*ln(x)/2) at x = 0 is undefined, not exp(-inf) = 0).
    """
    try:
        if any(not value.is_Float for value in point.values()):
            value = expr.xreplace(point)
            if value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
                return None
            value = value.evalf(30)
        else:
            value = expr.evalf(30, subs=point)
        if value.free_symbols or not value.is_number or value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            return None
        number = complex(value)
    except (TypeError, ValueError, ArithmeticError, RecursionError):
        return None
    except Exception as error:  # noqa: BLE001 - evalf's own bugs (AttributeError in Min...)
        raise Skip(f"SymPy failed: {type(error).__name__} in evalf") from None
    if not (math.isfinite(number.real) and math.isfinite(number.imag)):
        return None
    return number


def _is_real(value: complex | None) -> bool:
    return value is not None and abs(value.imag) <= 1e-20 + 1e-15 * abs(value.real)


def _equal(a: complex, r: complex) -> bool:
    return abs(a - r) <= 1e-15 * max(abs(a), abs(r)) + 1e-24


def _differ(a: complex, r: complex) -> bool:
    return abs(a - r) > 1e-9 * max(abs(a), abs(r)) + 1e-20


# --------------------------------------------------------------------------------- subjects

@dataclass(frozen=True)
class Subject:
    """A reference expression with its values at the oracle's points."""

    text: str
    expr: sp.Expr
    points: list[Point]
    values: list[complex | None]
    domain: list[int]  # indices of the points in the reference's domain
    real: frozenset[int]  # indices where the reference is real and finite


def prepare(text: str, seed: int = 0) -> Subject:
    """Parse `text` and evaluate it; `Skip` when the grader rightly cannot use it as a reference
    (too large, nowhere finite at our points)."""
    try:
        expr = mathgrader.parse(text)
    except InputError as error:
        raise Skip(f"the reference does not parse: {error.code}") from None
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    points = _points(symbols, seed)
    with time_limit(SYMPY_SECONDS):
        values = [_value(expr, point) for point in points]
    real = frozenset(i for i, v in enumerate(values) if _is_real(v))
    enough = min(MIN_DOMAIN, len(points))  # a constant has one point
    # Whether the reference is real somewhere is judged at the generic points: x + I*y is real
    # on the line y = 0, which only lattice points meet, and that is not a domain to grade on.
    generic = [i for i in real if i < GENERIC_POINTS]
    domain = sorted(real) if len(generic) >= enough else [
        i for i, v in enumerate(values) if v is not None]
    if len(domain) < enough:
        raise Skip("the reference is finite at too few points")
    return Subject(text, expr, points, values, domain, real)


@dataclass(frozen=True)
class Case:
    """One grading question with a known right verdict."""

    relation: str  # "expand", "add_one", ...
    kind: str  # "rewrite" (must grade correct) or "perturbation" (must not)
    reference: str
    answer: str
    symmetric: bool  # both sides real and finite at the same points: order must not matter

    @property
    def expected_correct(self) -> bool:
        return self.kind == "rewrite"


def _answer_values(subject: Subject, answer: sp.Expr) -> list[complex | None]:
    with time_limit(SYMPY_SECONDS):
        return [_value(answer, point) for point in subject.points]


def _symmetric(subject: Subject, values: list[complex | None]) -> bool:
    real = frozenset(i for i, v in enumerate(values) if _is_real(v))
    return real == subject.real and len(real) >= min(SYMMETRY_POINTS, len(subject.points))


def _parse_answer(text: str) -> sp.Expr:
    try:
        return mathgrader.parse(text)
    except InputError as error:
        if error.code in ("too_long", "too_deep", "number_too_large"):
            raise Skip(f"the answer is refused as {error.code}") from None
        raise  # anything else is a printer bug: let the test see it


# --------------------------------------------------------------------------------- rewrites

def _rewrite(target: Any) -> Callable[[sp.Expr], sp.Expr]:
    return lambda expr: expr.rewrite(target)


REWRITES: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "expand": sp.expand,
    "factor": sp.factor,
    "together": sp.together,
    "cancel": sp.cancel,
    "trigsimp": sp.trigsimp,
    "expand_trig": sp.expand_trig,
    "rewrite_exp": _rewrite(sp.exp),
    "rewrite_cos": _rewrite(sp.cos),
    "rewrite_sin": _rewrite(sp.sin),
    "rewrite_tan": _rewrite(sp.tan),
    "rewrite_log": _rewrite(sp.log),
    "rewrite_sqrt": _rewrite(sp.sqrt),
    "rewrite_cosh": _rewrite(sp.cosh),
    "rewrite_sinh": _rewrite(sp.sinh),
    "rewrite_tanh": _rewrite(sp.tanh),
    "rewrite_atan": _rewrite(sp.atan),
    "rewrite_floor": _rewrite(sp.floor),
    "expand_log": sp.expand_log,
    "logcombine": sp.logcombine,
    "powsimp": sp.powsimp,
    "powdenest": sp.powdenest,
    "radsimp": sp.radsimp,
    "ratsimp": sp.ratsimp,
    "exptrigsimp": sp.exptrigsimp,
    "expand_func": sp.expand_func,
    "expand_complex": sp.expand_complex,
}


def rewrite_case(subject: Subject, relation: str) -> Case:
    """The reference rewritten by SymPy and printed in the learner syntax: must grade correct."""
    with time_limit(SYMPY_SECONDS):
        try:
            rewritten = REWRITES[relation](subject.expr)
        except Exception as error:  # noqa: BLE001 - SymPy's failure, not the grader's: skip it
            raise Skip(f"SymPy failed: {type(error).__name__}") from None
    if rewritten == subject.expr:
        raise Skip(f"{relation} leaves the expression unchanged")
    return identity_case(subject, relation, rewritten)


def identity_case(subject: Subject, relation: str, rewritten: sp.Expr) -> Case:
    """A case for `rewritten`, printed in the learner syntax, if the oracle finds it equal to the
    reference at every point of the reference's domain; `Skip` otherwise."""
    try:
        answer = to_learner(rewritten)
    except NotLearnerSyntax as error:
        raise Skip(f"the rewrite has no learner syntax: {error}") from None
    _parse_answer(answer)
    # The printed tree itself, not its re-parse: SymPy would turn exp(3*ln(x)/2) back into
    # x^(3/2), defined at 0, while the checker reads the text as typed.
    values = _answer_values(subject, rewritten)
    for i in subject.domain:
        value, reference = values[i], subject.values[i]
        assert reference is not None
        if value is None or not _equal(value, reference):
            raise Skip(f"{relation} is not an identity on the reference's domain")
    return Case(relation, "rewrite", subject.text, answer, _symmetric(subject, values))


# ---------------------------------------------------------------------------- perturbations

# A number not inside a name (atan2, x1): digits after a name character are part of the name.
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])(\d+)(?![\d.])")
_CALL = re.compile(r"\b([A-Za-z][A-Za-z0-9_]*)\(")
_SWAPS = {
    "sin": "cos", "cos": "sin", "tan": "cot", "cot": "tan", "sinh": "cosh", "cosh": "sinh",
    "tanh": "coth", "coth": "tanh", "asin": "acos", "acos": "asin", "atan": "acot",
    "acot": "atan", "asinh": "acosh", "acosh": "asinh", "atanh": "acoth", "acoth": "atanh",
    "exp": "ln", "ln": "log", "log": "ln", "sqrt": "exp", "abs": "sign", "sign": "abs",
    "floor": "ceiling", "ceiling": "floor", "max": "min", "min": "max", "re": "im", "im": "re",
    "erf": "atan", "deg": "rad", "rad": "deg", "conjugate": "abs", "arg": "sign",
    "root": "atan2", "atan2": "root", "mod": "max", "binomial": "max",
}


def _add_one(text: str, pick: int) -> str:
    return f"({text}) + 1"


def _double(text: str, pick: int) -> str:
    return f"2*({text})"


def _change_number(text: str, pick: int) -> str:
    numbers = list(_NUMBER.finditer(text))
    if not numbers:
        raise Skip("no number to change")
    match = numbers[pick % len(numbers)]
    return f"{text[:match.start()]}{int(match.group()) + 1}{text[match.end():]}"


def _swap_function(text: str, pick: int) -> str:
    calls = [m for m in _CALL.finditer(text) if m.group(1) in _SWAPS]
    if not calls:
        raise Skip("no function to swap")
    match = calls[pick % len(calls)]
    replacement = _SWAPS[match.group(1)]
    assert FUNCTIONS[replacement].accepts(FUNCTIONS[match.group(1)].min_args)
    return f"{text[:match.start(1)]}{replacement}{text[match.end(1):]}"


PERTURBATIONS: dict[str, Callable[[str, int], str]] = {
    "add_one": _add_one,
    "double": _double,
    "change_number": _change_number,
    "swap_function": _swap_function,
}


def perturbation_case(subject: Subject, relation: str, pick: int = 0) -> Case:
    """The reference changed so that its value changes somewhere on its domain: must not grade
    correct. `pick` chooses which number or function is changed."""
    answer = PERTURBATIONS[relation](subject.text, pick)
    values = _answer_values(subject, _parse_answer(answer))
    differs = False
    for i in subject.domain:
        value, reference = values[i], subject.values[i]
        assert reference is not None
        if value is not None and _differ(value, reference):
            differs = True
            break
    if not differs:
        raise Skip(f"{relation} changes no value on the reference's domain")
    return Case(relation, "perturbation", subject.text, answer, _symmetric(subject, values))
