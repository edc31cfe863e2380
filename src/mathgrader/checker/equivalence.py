"""Are two expressions equal as functions over the reference's domain?

Decision order (cheapest that can decide first):
1. Exact inputs (no decimal numbers, no explicit tolerance):
   - rational functions with rational coefficients: exact evaluation at random rational points
     (Schwartz-Zippel); integer points too when floor/mod/... appear;
   - constants: mpmath at two precisions chosen from the magnitudes met, so cancellation cannot
     hide a difference and rounding cannot invent one.
2. Otherwise: the reference is compiled once into a vectorised numpy evaluator and evaluated at
   seeded sample points drawn from each variable's domain; the intended domain is where the
   reference is finite and real (or finite, where it is nowhere real). The answer must be finite
   and within tolerance there; points where it is undefined only at a removable singularity do
   not count. For exact inputs, agreement is confirmed with mpmath at a few points.
3. oo, -oo, zoo and nan compare as values through SymPy.
"""

from __future__ import annotations

import dataclasses
import functools
import marshal
import pickle
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol, TypeVar, cast

import mpmath
import numpy as np

from ..errors import ConfigError, InputError
from ..language import ast
from ..language.limits import check_sizes
from ..language.parser import parse_tree
from ..language.spacing import token_key
from .evaluate import (
    RATIONAL_FUNCTIONS,
    Magnitudes,
    NotExact,
    Undefined,
    compile_numpy,
    compile_numpy_scaled,
    evaluate_exact,
    evaluate_mpmath,
    integer_exponent,
    integer_literal,
)
from .grade import Grade
from .kinks import PIECEWISE, kink_points
from .options import FeedbackRule, GradeOptions
from .sampling import ROUNDS, exact_points, lattice_points, nudge, sample_variable
from .special import Special, evaluate_special, to_complex

__all__ = ["CheckTimeout", "Checker", "check"]

POINTS_PER_ROUND = 48
ENOUGH_POINTS = 16
MIN_POINTS = 4
MAX_DERIVED = 32  # values kept per reference's samples (its slope, its rewrites)
SPECIAL_CONSTANTS = {"oo", "zoo", "nan"}
INTEGER_FUNCTIONS = {"floor", "ceiling", "mod", "sign", "gcd", "lcm", "binomial", "max", "min",
                     "abs"}
DEFAULT_RELATIVE = 1e-6
DEFAULT_ABSOLUTE_FLOOR = 1e-12

T = TypeVar("T")


class CheckTimeout(Exception):
    """The check ran out of its time budget."""


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed expression and the facts the checker needs about it."""

    text: str
    node: ast.Node
    names: frozenset[str]
    exact: bool  # no decimal numbers
    rational: bool  # only rational values: decidable exactly
    special: bool  # uses oo, zoo or nan
    functions: frozenset[str]
    tokens: str | None  # spacing-insensitive key: equal keys, the same tree

    @classmethod
    def from_node(cls, text: str, node: ast.Node, facts: _Facts | None = None) -> Expression:
        """`facts` are `_facts(node)` when the caller has them already."""
        names, functions, exact, special, rational, _ = facts or _facts(node)
        tokens = None if "\x00" in text else token_key(text)  # \x00: a rewrite's own name
        return cls(text, node, names, exact, rational, special, functions, tokens)


# names, functions, exact, special, rational, and whether `check_sizes` can refuse the tree
_Facts = tuple[frozenset[str], frozenset[str], bool, bool, bool, bool]
# What `check_sizes` can refuse: a power (but a variable to a literal power), or a call that grows
# or takes a binomial's arguments.
_SIZED_CALLS = frozenset({"exp", "sinh", "cosh", "binomial"})


def _variable_power(node: ast.Binary) -> bool:
    """A variable to an integer literal power (x^2, (t)^-3): `check_sizes` never refuses one
    (its value is unknown, its exponent within bounds), so alone it does not make a tree
    sized."""
    return type(ast.strip_groups(node.left)) is ast.Name and integer_literal(node.right) is not None


def _facts(node: ast.Node) -> _Facts:
    """What `Expression` records about a tree, in one walk: its variables and functions, whether
    it is exact (no decimal numbers), special (oo, zoo, nan) and rational (no decimals,
    constants or irrational functions, only integer exponents: decidable exactly), and whether
    it has a part `check_sizes` can refuse (without one, it never raises)."""
    names: set[str] = set()
    functions: set[str] = set()
    exact, special, rational, sized = True, False, True, False
    stack = [node]
    Name, Number, Constant, Binary, Call = (ast.Name, ast.Number, ast.Constant, ast.Binary,
                                            ast.Call)
    while stack:
        child = stack.pop()
        kind = type(child)
        if kind is Binary:
            stack.append(child.right)  # type: ignore[attr-defined]
            stack.append(child.left)  # type: ignore[attr-defined]
            if child.op == "^":  # type: ignore[attr-defined]
                if not sized and not _variable_power(child):  # type: ignore[arg-type]
                    sized = True
                if rational and not integer_exponent(child.right):  # type: ignore[attr-defined]
                    rational = False
        elif kind is Name:
            names.add(child.name)  # type: ignore[attr-defined]
        elif kind is Number:
            if child.is_decimal:  # type: ignore[attr-defined]
                exact = rational = False
        elif kind is Constant:
            rational = False
            if child.name in SPECIAL_CONSTANTS:  # type: ignore[attr-defined]
                special = True
        elif kind is Call:
            name = child.name  # type: ignore[attr-defined]
            functions.add(name)
            if name not in RATIONAL_FUNCTIONS:
                rational = False
            if name in _SIZED_CALLS:
                sized = True
            stack.extend(child.children())
        else:
            stack.extend(child.children())
    return frozenset(names), frozenset(functions), exact, special, rational, sized


@dataclass
class Samples:
    """Sample points of a reference and its values there (computed once per reference)."""

    names: tuple[str, ...]
    points: np.ndarray  # variables x points, complex
    values: np.ndarray
    scale: np.ndarray  # per-point noise scale of the reference's evaluation
    nowhere_real: bool
    floor_scale: np.ndarray = field(init=False)  # what the absolute tolerance floor scales with
    # |answer - value| allowed at each point by the default tolerances (`_close`), worked out
    # once for every answer to the question.
    tolerance: np.ndarray = field(init=False, repr=False)
    # Values at these points that later checks of the same question reuse (the reference's
    # slope, its rewrites for slip feedback), keyed by what was evaluated; bounded.
    derived: dict[Hashable, np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.derived = {}
        # An infinite intermediate (acoth(1) inside arg) says nothing about the noise of a
        # finite value: it must not make the tolerance infinite, or any answer would pass.
        with np.errstate(all="ignore"):
            noise = np.where(np.isfinite(self.scale), self.scale, 0.0)
            magnitude = np.abs(self.values)
            floor_scale = np.maximum(magnitude, noise)
            # The absolute floor near a root of the reference: the default relative tolerance of
            # the reference's typical size, the median |value| at its samples (the contract's
            # "scaled to the size of the reference's values"). Without it, x - 2.0000001 against
            # x - 2 failed whenever a sample fell within 0.1 of x = 2: a verdict by seed.
            finite = magnitude[np.isfinite(magnitude)]
            if finite.size:
                # (capped: 1e6 times a value near 1e308 would be infinite, and pass anything)
                typical = min(float(np.median(finite)), 1e290)
                floor_scale = np.maximum(
                    floor_scale, typical * (DEFAULT_RELATIVE / DEFAULT_ABSOLUTE_FLOOR))
            self.floor_scale = np.where(floor_scale == 0, 1.0, floor_scale)
            self.tolerance = _default_tolerance(self.values, self.floor_scale)


@dataclass
class Outcome:
    equal: bool
    feedback: str | None = None


class Peers(Protocol):
    """Finished results shared with the other worker processes of a batch pool, by bytes keys
    (`mathgrader.batch.peers.PeerView`)."""

    def lookup(self, key: bytes) -> bytes | None: ...

    def publish(self, key: bytes, value: bytes) -> bool: ...


class _LRU:
    """A small bounded cache; one per Checker, never module-global state of the core."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        cached = self.lookup(key)
        if cached is not None:
            return cast(T, cached)
        value = make()
        self.put(key, value)
        return value

    def lookup(self, key: Hashable) -> Any:
        """The cached value or None, in one hash lookup (a repeated answer's whole cost)."""
        value = self.data.get(key)
        if value is not None:
            self.data.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        self.data[key] = value
        if len(self.data) > self.size:
            self.data.popitem(last=False)


@dataclass
class Checker:
    """Grades answers; caches parsed references, compiled evaluators and reference samples."""

    cache_size: int = 2048
    # Results shared with other processes (batch workers: `grade_item.share`); looked up when
    # this checker's own cache misses, and given every result it caches.
    peers: Peers | None = field(default=None, repr=False, compare=False)
    _expressions: _LRU = field(init=False)
    _compiled: _LRU = field(init=False)
    _samples: _LRU = field(init=False)
    _results: _LRU = field(init=False)
    _mp: _LRU = field(init=False)  # references' exact and high-precision values at points
    # The last (samples, expression text, values) evaluated by `values_at`.
    _last_values: tuple[Samples, str, np.ndarray] | None = field(init=False)

    def __post_init__(self) -> None:
        self._last_values = None
        self._results = _LRU(self.cache_size * 8)
        self._expressions = _LRU(self.cache_size)
        self._compiled = _LRU(self.cache_size)
        self._samples = _LRU(self.cache_size)
        self._mp = _LRU(self.cache_size)

    # -------------------------------------------------------------------------------- entry

    def check(self, reference: str, answer: str, options: GradeOptions) -> Grade:
        """Grade one answer; repeated (reference, answer, options) come from a bounded cache.

        Timeouts are not cached: a later attempt with a warmer cache may finish.
        """
        key = (reference, answer, options)
        cached: Grade | None = self._results.lookup(key)
        if cached is not None:
            return cached
        # The same answer spaced differently has the same verdict and feedback once it parses
        # (an error's columns and a list's feedback quote the text, so those are keyed as typed).
        tokens = token_key(answer) if options.list is None else None
        spaced = None if tokens is None else ("tokens", reference, tokens, options)
        if spaced is not None:
            cached = self._results.lookup(spaced)
            if cached is not None:
                self._results.put(key, cached)  # next time, found as typed
                return cached
        shared = None
        if self.peers is not None:
            shared = self._shared_keys(reference, answer, tokens, options)
            if shared is not None:
                cached = self._from_peers(self.peers, shared, key, spaced)
                if cached is not None:
                    return cached
        try:
            result = self._check(reference, answer, options)
        except ConfigError as exc:
            result = Grade("error", 0.0, exc.message, exc.to_dict())
        except InputError as exc:
            result = Grade("invalid", 0.0, exc.message, exc.to_dict())
        if result.verdict != "timeout":
            self._results.put(key, result)
        if spaced is not None and result.verdict in ("correct", "incorrect"):
            self._results.put(spaced, result)
        if shared is not None and self.peers is not None:
            self._to_peers(self.peers, shared, result)
        return result

    # ------------------------------------------------------------------ results from peers

    def _shared_keys(self, reference: str, answer: str, tokens: str | None,
                     options: GradeOptions) -> tuple[bytes, bytes | None] | None:
        """The bytes keys of a check's result in the peers' store, as typed and (when the answer
        has a token key) spacing-insensitive; None for options `_options_bytes` cannot encode.

        Not pickle: it writes `GradeOptions`' hash (salted per process under spawn) and its
        uncompared `extra`, and tells 1 from 1.0, so equal keys could give unequal bytes.
        """
        encoded = self._expressions.get(("peer options", options),
                                        lambda: _options_bytes(options))
        if encoded is None:
            return None
        try:
            typed = b"a" + encoded + marshal.dumps((reference, answer), 2)
            spaced = None if tokens is None else (
                b"t" + encoded + marshal.dumps((reference, tokens), 2))
        except ValueError:  # a str subclass: marshal takes exact types only
            return None
        return typed, spaced

    def _from_peers(self, peers: Peers, keys: tuple[bytes, bytes | None],
                    key: Hashable, spaced: Hashable | None) -> Grade | None:
        """A result a peer published, kept here too (as a local hit would be), or None."""
        found = peers.lookup(keys[0])
        if found is None and keys[1] is not None:
            found = peers.lookup(keys[1])
        if found is None:
            return None
        try:
            result = pickle.loads(found)
        except Exception:  # what a peer wrote cannot be decoded: check it here instead
            return None
        if type(result) is not Grade:
            return None
        self._results.put(key, result)
        if spaced is not None and result.verdict in ("correct", "incorrect"):
            self._results.put(spaced, result)
        return result

    def _to_peers(self, peers: Peers, keys: tuple[bytes, bytes | None], result: Grade) -> None:
        """Publish a first-time result under the conditions it is cached here."""
        if result.verdict == "timeout":
            return
        value = pickle.dumps(result, pickle.HIGHEST_PROTOCOL)
        peers.publish(keys[0], value)
        if keys[1] is not None and result.verdict in ("correct", "incorrect"):
            peers.publish(keys[1], value)

    def _check(self, reference: str, answer: str, options: GradeOptions) -> Grade:
        deadline = time.monotonic() + options.timeout
        texts = _unique((reference, *options.answers))
        for rule in options.feedback:  # a broken rule is the author's error, right answer or not
            try:
                if options.list is None:
                    self.reference(rule.answer)
                else:
                    self.reference_items(rule.answer)
            except ConfigError as exc:
                raise ConfigError(exc.message.replace("the reference answer",
                                                      "the feedback answer"),
                                  field="feedback") from None
        if options.list is not None:
            return self._check_list(texts, answer, options, deadline)
        references = [self.reference(text) for text in texts]
        learner = self._learner(answer, references, options)[0]
        forbidden = _forbidden(learner, options)
        if forbidden:
            return Grade("incorrect", 0.0, forbidden)
        try:
            feedback = None
            for ref in references:
                outcome = self.compare(ref, learner, options, deadline)
                if outcome.equal:
                    problem = self._form_problem(options.form, learner, ref)
                    if problem is not None:
                        # The author's message for this answer, when a rule names it, says
                        # more than the form's ("(x-1)*(x+1)": "expand the product")
                        message = self._instructor_feedback(learner, options, deadline)
                        return Grade("incorrect", 0.0, message or problem)
                    return Grade("correct", 1.0)
                feedback = feedback or outcome.feedback
            message = self._instructor_feedback(learner, options, deadline)
            if message is None and feedback is None:
                from .slips import find_slip

                feedback = find_slip(self, references[0], learner, options, deadline)
        except CheckTimeout:
            return _timeout()
        return Grade("incorrect", 0.0, message or feedback)

    def _learner(self, answer: str, references: list[Expression], options: GradeOptions,
                 allow_list: bool = False) -> list[Expression]:
        declared = set(dict(options.variables))
        for ref in references:
            declared |= ref.names
        parsed = parse_tree(answer, variables=declared, allow_list=allow_list)
        items = []
        for node in parsed.items:
            facts = _facts(node)
            if facts[-1]:
                check_sizes(node, answer)
            text = answer if len(parsed.items) == 1 else answer[node.start : node.end]
            items.append(Expression.from_node(text, node, facts))
        return items

    def _instructor_feedback(self, learner: Expression, options: GradeOptions,
                             deadline: float) -> str | None:
        for rule in options.feedback:
            anticipated = self.reference(rule.answer)
            if self.compare(anticipated, learner, options, deadline).equal:
                return rule.message
        return None

    def _form_problem(self, form: str, learner: Expression, ref: Expression) -> str | None:
        if form == "any":
            return None
        from .forms import form_problem, simplified_size

        budget = None
        if form == "simplified":
            budget = self._expressions.get(("simplified", ref.text),
                                           lambda: simplified_size(ref.node))
        return form_problem(form, learner.node, ref.node, budget)

    def _check_list(self, texts: list[str], answer: str, options: GradeOptions,
                    deadline: float) -> Grade:
        """Comma-separated answers, matched element by element with partial credit."""
        reference_lists = [self.reference_items(text) for text in texts]
        flat = [ref for items in reference_lists for ref in items]
        learner = self._learner(answer, flat, options, allow_list=True)
        forbidden = next(filter(None, (_forbidden(item, options) for item in learner)), None)
        if forbidden:
            return Grade("incorrect", 0.0, forbidden)
        try:
            best: tuple[float, str | None] = (-1.0, None)
            for refs in reference_lists:
                score, feedback = self._score_list(refs, learner, options, deadline)
                if score == 1.0:
                    for item, ref in zip(learner, refs, strict=False):
                        problem = self._form_problem(options.form, item, ref)
                        if problem is not None:
                            return Grade("incorrect", 0.0, problem)
                    return Grade("correct", 1.0)
                best = max(best, (score, feedback), key=lambda pair: pair[0])
            for rule in options.feedback:
                anticipated = self.reference_items(rule.answer)
                if self._score_list(anticipated, learner, options, deadline)[0] == 1.0:
                    return Grade("incorrect", round(best[0], 6), rule.message)
        except CheckTimeout:
            return _timeout()
        return Grade("incorrect", round(best[0], 6), best[1])

    def _score_list(self, refs: list[Expression], learner: list[Expression],
                    options: GradeOptions, deadline: float) -> tuple[float, str | None]:
        size = max(len(refs), len(learner))
        if options.list == "ordered":
            wrong = [
                i for i, (item, ref) in enumerate(zip(learner, refs, strict=False))
                if not self.compare(ref, item, options, deadline).equal
            ]
            matched = min(len(refs), len(learner)) - len(wrong)
            notes = [f"element {i + 1} ({learner[i].text.strip()}) is not right" for i in wrong]
            unmatched_answers = list(range(len(refs), len(learner)))
        else:
            known: dict[tuple[int, int], bool] = {}

            def equal(i: int, j: int) -> bool:
                if (i, j) not in known:
                    known[(i, j)] = self.compare(refs[j], learner[i], options, deadline).equal
                return known[(i, j)]

            pairs = _match(len(learner), len(refs), equal)
            matched = len(pairs)
            used = {i for i, _ in pairs}
            unmatched_answers = [i for i in range(len(learner)) if i not in used]
            # An element equal to an answer another element already matched is a repeat, not
            # a wrong value ("2, 2" for the roots 2 and -3).
            notes = [f"{learner[i].text.strip()} is "
                     + ("given more than once" if any(equal(i, j) for j in range(len(refs)))
                        else "not one of the answers")
                     for i in unmatched_answers if i < len(refs) or len(learner) <= len(refs)]
            unmatched_answers = unmatched_answers if len(learner) > len(refs) else []
        missing = len(refs) - matched - len(notes) if options.list == "unordered" else max(
            len(refs) - len(learner), 0)
        if len(learner) > len(refs):
            extra = len(learner) - len(refs)
            notes.append(f"{extra} more value{'s' if extra > 1 else ''} than expected")
        elif missing > 0:
            notes.append(f"{missing} value{'s are' if missing > 1 else ' is'} missing")
        feedback = None
        if notes:
            said = dict.fromkeys(notes)  # "2 is given more than once" once, however often
            feedback = f"{matched} of {len(refs)} right: " + "; ".join(said) + "."
        return matched / size, feedback

    def reference_items(self, text: str) -> list[Expression]:
        """The elements of a comma-separated reference list."""
        def make() -> list[Expression]:
            try:
                parsed = parse_tree(text, allow_list=True)
                for node in parsed.items:
                    check_sizes(node, text)
            except InputError as exc:
                raise ConfigError(
                    f"the reference answer {text!r} does not parse: {exc.message}",
                    field="reference",
                ) from None
            return [self.reference(text[node.start : node.end]) for node in parsed.items]

        return self._expressions.get(("items", text), make)

    def reference(self, text: str) -> Expression:
        def make() -> Expression:
            try:
                parsed = parse_tree(text)
                facts = _facts(parsed.node)
                if facts[-1]:
                    check_sizes(parsed.node, text)
            except InputError as exc:
                raise ConfigError(
                    f"the reference answer {text!r} does not parse: {exc.message}",
                    field="reference",
                ) from None
            return Expression.from_node(text, parsed.node, facts)

        return self._expressions.get(("expr", text), make)

    # ----------------------------------------------------------------------------- compare

    def compare(
        self, ref: Expression, ans: Expression, options: GradeOptions, deadline: float
    ) -> Outcome:
        outcome = self._compare(ref, ans, options, deadline)
        if (outcome.equal and (ref.functions | ans.functions) & PIECEWISE
                and not (ref.special or ans.special) and (ref.names or ans.names)):
            return self._compare_at_kinks(ref, ans, options, deadline) or outcome
        return outcome

    def _compare(
        self, ref: Expression, ans: Expression, options: GradeOptions, deadline: float
    ) -> Outcome:
        exact = ref.exact and ans.exact and not options.explicit_tolerance
        if ref.special or ans.special:
            return _compare_special(ref, ans, options)
        names = tuple(sorted(ref.names | ans.names))
        if not names:
            return _compare_constants(ref, ans, options, exact, deadline, self._mp)
        complex_domain = any(options.domain_of(name) == "complex" for name in names)
        if exact and ref.rational and ans.rational and not (
            complex_domain and (ref.functions or ans.functions)
        ):
            # Rational functions agree over C iff over R; conjugate, abs, floor... do not.
            key, points = self._rational_points(ref, ans, options, names)
            ref_values = self._mp.get(("exact", ref.text, key),
                                      lambda: _exact_values(ref, points))
            outcome = _compare_rational(ref_values, ans, points)
            if outcome is not None:
                return outcome
        return self._compare_sampled(ref, ans, options, names, exact, deadline)

    def _rational_points(self, ref: Expression, ans: Expression, options: GradeOptions,
                         names: tuple[str, ...]) -> tuple[Hashable, list[dict[str, Fraction]]]:
        """The random rational points (and the key they are cached under)."""
        piecewise = bool((ref.functions | ans.functions) & INTEGER_FUNCTIONS)
        domains = tuple((name, options.domain_of(name)) for name in names)

        def make() -> list[dict[str, Fraction]]:
            # Rational functions agree over C iff over R: complex variables draw real points.
            real = {n: ("real" if d == "complex" else d) for n, d in domains}
            return exact_points(real, 36 if piecewise else 4, options.seed, piecewise)

        key = ("exact", domains, options.seed, piecewise)
        return key, self._samples.get(key, make)

    def compiled(self, expr: Expression, names: tuple[str, ...]) -> Any:
        """The numpy evaluator of `expr`'s values over `names` (compiled once, then cached)."""
        index = {name: i for i, name in enumerate(names)}
        return self._compiled.get(("np", expr.text, names), lambda: compile_numpy(expr.node, index))

    def _compiled_scaled(self, expr: Expression, names: tuple[str, ...]) -> Any:
        """Values and noise scale: for drawing a reference's samples, once per reference."""
        index = {name: i for i, name in enumerate(names)}
        return self._compiled.get(("np-scaled", expr.text, names),
                                  lambda: compile_numpy_scaled(expr.node, index))

    def cached(self, key: Hashable, make: Callable[[], T]) -> T:
        """What is derived from a reference once (its rewrites for slip feedback), cached with
        the parsed references."""
        return self._expressions.get(key, make)

    def values_at(self, expr: Expression, samples: Samples) -> np.ndarray:
        """`expr`'s values at the sample points (a check's answer is evaluated there once,
        whether for the comparison or for slip feedback after it)."""
        last = self._last_values
        if last is not None and last[0] is samples and last[1] == expr.text:
            return last[2]
        with np.errstate(all="ignore"):
            values = self.compiled(expr, samples.names)(samples.points)
        self._last_values = (samples, expr.text, values)
        return values

    def derived_values(self, key: Hashable, samples: Samples,
                       make: Callable[[], np.ndarray]) -> np.ndarray:
        """Values computed from a reference at its own sample points, kept with the samples."""
        values = samples.derived.get(key)
        if values is None:
            if len(samples.derived) >= MAX_DERIVED:
                samples.derived.clear()
            with np.errstate(all="ignore"):
                values = samples.derived[key] = make()
        return values

    def samples(self, ref: Expression, options: GradeOptions, names: tuple[str, ...],
                deadline: float) -> Samples:
        key = ("samples", ref.text, names, options.variables, options.seed)
        return self._samples.get(key, lambda: self._draw(ref, options, names, deadline))

    def _draw(self, ref: Expression, options: GradeOptions, names: tuple[str, ...],
              deadline: float) -> Samples:
        fn = self._compiled_scaled(ref, names)
        chunks, values, scales, real_ok = [], [], [], []
        found = 0
        for round_ in range(ROUNDS):
            _check_deadline(deadline)
            points = np.array([
                sample_variable(options.domain_of(name), name, POINTS_PER_ROUND, options.seed,
                                round_)
                for name in names
            ])
            with np.errstate(all="ignore"):
                value, scale = fn(points)
            finite = np.isfinite(value)
            real = finite & (np.abs(value.imag) <= 1e-9 * np.maximum(np.abs(value.real),
                                                                     np.maximum(scale, 1e-300)))
            chunks.append(points[:, finite])
            values.append(value[finite])
            scales.append(scale[finite])
            real_ok.append(real[finite])
            found += int(real.sum())
            if found >= ENOUGH_POINTS:
                break
        # Whether the reference is real somewhere is judged from the random points alone: a
        # reference real only on a line (x + I*y at y = 0) is real almost nowhere, and letting the
        # lattice points below make that line its domain would accept x for x + I*y.
        nowhere_real = found < MIN_POINTS
        special = self._special_points(fn, options, names)
        chunks.append(special[0])
        values.append(special[1])
        scales.append(special[2])
        real_ok.append(np.ones(special[1].shape, dtype=bool))
        points = np.concatenate(chunks, axis=1)
        value = np.concatenate(values)
        scale = np.concatenate(scales)
        real = np.concatenate(real_ok)
        keep = np.ones_like(real) if nowhere_real else real
        return Samples(names, points[:, keep], value[keep], scale[keep], nowhere_real)

    def _special_points(
        self, fn: Any, options: GradeOptions, names: tuple[str, ...]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Lattice points where the reference is real although it is not real nearby."""
        grid = lattice_points(names, {n: options.domain_of(n) for n in names}, options.seed)
        if grid.shape[1] == 0 or any(options.domain_of(n) == "complex" for n in names):
            empty = np.zeros(0)
            return np.zeros((len(names), 0), dtype=complex), empty.astype(complex), empty
        with np.errstate(all="ignore"):
            value, scale = fn(grid)
            near, _ = fn(nudge(grid))
        real = np.isfinite(value) & (np.abs(value.imag) <= 1e-9 * np.maximum(
            np.abs(value.real), np.maximum(scale, 1e-300)))
        near_real = np.isfinite(near) & (np.abs(near.imag) <= 1e-6 * np.maximum(
            np.abs(near.real), 1e-300))
        keep = np.flatnonzero(real & ~near_real)[:16]
        return grid[:, keep], value[keep], scale[keep]

    def _compare_sampled(
        self, ref: Expression, ans: Expression, options: GradeOptions, names: tuple[str, ...],
        exact: bool, deadline: float,
    ) -> Outcome:
        samples = self.samples(ref, options, names, deadline)
        if samples.values.size < MIN_POINTS:
            raise ConfigError(
                f"the reference answer {ref.text!r} is undefined at every point tried",
                field="reference",
            )
        if ans.tokens is not None and ans.tokens == ref.tokens:
            return Outcome(True)  # the reference as typed, and the reference is usable
        _check_deadline(deadline)
        answer = self.values_at(ans, samples)
        points, r, floor_scale = samples.points, samples.values, samples.floor_scale
        tolerance: np.ndarray | None = samples.tolerance
        undefined = ~np.isfinite(answer)
        if undefined.any():
            tolerance = None  # worked out again for the points left
            if not (self._removable(ref, ans, names, points[:, undefined], options)
                    or _overflow_only(ref, ans, names, points[:, undefined], exact, options,
                                      deadline)):
                return Outcome(False, _feedback_undefined(ans, ref))
            mask = ~undefined
            points, answer = points[:, mask], answer[mask]
            r, floor_scale = r[mask], floor_scale[mask]
        close = _close(answer, r, floor_scale, options, tolerance)
        if not close.all():
            if exact:
                # A few failing points may be floating-point trouble that mpmath settles;
                # many are a wrong answer, whatever mpmath would say.
                failing = points[:, ~close]
                if failing.shape[1] <= 4 and all(
                    _mp_equal(ref, ans, _mp_point(names, failing[:, i]), deadline,
                              self._mp) is not False
                    for i in range(failing.shape[1])
                ):
                    return self._confirm(ref, ans, names, points, deadline)
            return Outcome(False, _feedback_numeric(answer, r, ans, ref, options))
        if exact:
            return self._confirm(ref, ans, names, points, deadline)
        return Outcome(True)

    def _compare_at_kinks(self, ref: Expression, ans: Expression, options: GradeOptions,
                          deadline: float) -> Outcome | None:
        """After two expressions with a piecewise function agree at the samples: a differing
        Outcome if they part where a piece changes beyond the samples (`kinks`), else None."""
        names = tuple(sorted(ref.names | ans.names))
        samples = self.samples(ref, options, names, deadline)
        if samples.nowhere_real or samples.values.size == 0:
            return None
        base = samples.points[:, 0]

        def kinks_of(expr: Expression) -> np.ndarray:
            return kink_points([expr.node], names, base, samples.points, options.domain_of,
                               lambda: _check_deadline(deadline))

        points = self.derived_values(("kinks", ref.text), samples, lambda: kinks_of(ref))
        if ans.functions & PIECEWISE:
            points = np.concatenate((points, kinks_of(ans)), axis=1)
        if points.shape[1] == 0:
            return None
        _check_deadline(deadline)
        with np.errstate(all="ignore"):
            r, scale = self._compiled_scaled(ref, names)(points)
            a = self.compiled(ans, names)(points)
            # The reference's domain (finite and real), where the answer is finite too.
            usable = (np.isfinite(r) & np.isfinite(a)
                      & (np.abs(r.imag) <= 1e-9 * np.maximum(np.abs(r.real), 1.0)))
            floor_scale = np.maximum(np.abs(r), np.where(np.isfinite(scale), scale, 0.0))
            floor_scale = np.maximum(floor_scale, float(np.median(samples.floor_scale)))
        close = _close(a[usable], r[usable], floor_scale[usable], options)
        failing = points[:, usable][:, ~close]
        exact = ref.exact and ans.exact and not options.explicit_tolerance
        for i in range(min(failing.shape[1], 4)):
            point = failing[:, i]
            if exact and _mp_equal(ref, ans, _mp_point(names, point), deadline,
                                   self._mp) is not False:
                continue  # floating point trouble, or mpmath cannot tell: no evidence
            where = ", ".join(f"{name} = {_number_text(value.real)}"
                              for name, value in zip(names, point, strict=True))
            return Outcome(False, f"Your answer differs from the expected answer at {where}.")
        return None

    def _removable(self, ref: Expression, ans: Expression, names: tuple[str, ...],
                   points: np.ndarray, options: GradeOptions) -> bool:
        """Whether the answer is undefined only at isolated points next to which it matches."""
        if all(options.domain_of(name) == "integer" for name in names):
            return False
        ref_fn, ans_fn = self.compiled(ref, names), self.compiled(ans, names)
        for delta in (1e-6, -1e-6):
            shifted = points * (1 + delta) + delta
            with np.errstate(all="ignore"):
                r = ref_fn(shifted)
                a = ans_fn(shifted)
            ok = np.isfinite(r) & np.isfinite(a) & (
                np.abs(a - r) <= 1e-4 * np.maximum(np.abs(r), 1.0)
            )
            if not ok.all():
                return False
        return True

    def _confirm(self, ref: Expression, ans: Expression, names: tuple[str, ...],
                 points: np.ndarray, deadline: float) -> Outcome:
        """Exact inputs agree in floating point: make sure at high precision."""
        checked = 0
        order = np.argsort(np.abs(points).max(axis=0))  # moderate points first
        for i in order:
            _check_deadline(deadline)
            verdict = _mp_equal(ref, ans, _mp_point(names, points[:, i]), deadline,
                                self._mp)
            if verdict is False:
                return Outcome(False, None)
            if verdict is True:
                checked += 1
            if checked >= 2:
                break
        return Outcome(True)


# --------------------------------------------------------------------------- exact helpers

def _unique(texts: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(texts))


def _timeout() -> Grade:
    return Grade(
        "timeout", 0.0, "The answer could not be checked within the time budget.",
        {"code": "timeout", "message": "the check ran out of its time budget"},
    )


def _forbidden(learner: Expression, options: GradeOptions) -> str | None:
    used = sorted(learner.functions & set(options.forbid))
    if not used:
        return None
    return f"You may not use {', '.join(used)} in this answer."


def _match(n_answers: int, n_refs: int, equal: Callable[[int, int], bool]) -> list[tuple[int, int]]:
    """A maximum matching of answers to references (augmenting paths; lists are short).
    `equal` is asked the same pair more than once: the caller memoizes it."""
    owner: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j in range(n_refs):
            if j in seen or not equal(i, j):
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                owner[j] = i
                return True
        return False

    for i in range(n_answers):
        augment(i, set())
    return sorted((i, j) for j, i in owner.items())


def _check_deadline(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise CheckTimeout


_UNDEFINED = "undefined"  # a reference's exact value at a pole: the point does not count


def _exact_values(ref: Expression, points: list[dict[str, Fraction]]) -> list[Fraction | str]:
    """The reference's exact values at the points, kept for the question's next answers; they
    stop at the first point where it is not exact (the comparison gives up there)."""
    values: list[Fraction | str] = []
    for point in points:
        try:
            values.append(evaluate_exact(ref.node, point))
        except Undefined:
            values.append(_UNDEFINED)
        except NotExact:
            break
    return values


def _compare_rational(ref_values: list[Fraction | str], ans: Expression,
                      points: list[dict[str, Fraction]]) -> Outcome | None:
    compared = 0
    for point, r in zip(points, ref_values, strict=False):
        if r is _UNDEFINED:
            continue
        try:
            a = evaluate_exact(ans.node, point)
        except (Undefined, NotExact):
            return None  # the sampled path tells a removable point from a real pole
        if a != r:
            return Outcome(False, None)
        compared += 1
    if len(ref_values) < len(points):
        return None  # the reference is not exact at some point: leave it to sampling
    return None if compared == 0 else Outcome(True)


def _mp_point(names: tuple[str, ...], column: np.ndarray) -> dict[str, Any]:
    point: dict[str, Any] = {}
    for name, value in zip(names, column, strict=True):
        value = complex(value)
        point[name] = (
            mpmath.mpf(value.real) if value.imag == 0
            else mpmath.mpc(value.real, value.imag)
        )
    return point


def _mp_values(ref: Expression, ans: Expression, point: dict[str, Any], dps: int,
               magnitudes: Magnitudes, memo: _LRU | None) -> tuple[Any, Any]:
    """Both values at `dps` digits; the reference's (and the magnitudes it met) are kept in
    `memo`, since every answer to a question is confirmed at the same points."""
    with mpmath.workdps(dps):
        values = {k: +v for k, v in point.items()}
        key = ("mp", ref.text, tuple(point.items()), dps)
        cached = None if memo is None else memo.lookup(key)
        if cached is None:
            seen = Magnitudes()
            cached = (evaluate_mpmath(ref.node, values, seen), seen.high, seen.low)
            if memo is not None:
                memo.put(key, cached)
        r, high, low = cached
        magnitudes.high, magnitudes.low = max(magnitudes.high, high), min(magnitudes.low, low)
        return r, evaluate_mpmath(ans.node, values, magnitudes)


MAX_DPS = 4000


def _mp_equal(ref: Expression, ans: Expression, point: dict[str, Any],
              deadline: float, memo: _LRU | None = None) -> bool | None:
    """Equal at `point` by high-precision evaluation; None when mpmath cannot tell.

    The precision grows with the spread of magnitudes met, so that a tiny exact term is resolved
    and cancellation of huge ones leaves enough digits; a difference counts as zero only when it
    is far below the rounding noise of the largest value met.
    """
    dps = 50
    try:
        while True:
            _check_deadline(deadline)
            magnitudes = Magnitudes()
            r, a = _mp_values(ref, ans, point, 2 * dps, magnitudes, memo)
            needed = 40 + magnitudes.spread_digits
            if needed <= dps:
                break
            if needed > MAX_DPS:
                return None
            dps = needed
    except (NotExact, Undefined):
        return None
    except (OverflowError, ValueError, ZeroDivisionError):  # mpmath edge cases
        return None
    with mpmath.workdps(2 * dps):
        difference = abs(a - r)
        if difference == 0:
            return True
        return bool(difference <= _power_of_ten(magnitudes.high_digits - 2 * dps + 20, 2 * dps))


@functools.lru_cache(maxsize=256)
def _power_of_ten(exponent: int, dps: int) -> Any:
    """10^exponent at `dps` digits (the same few, for every answer confirmed)."""
    with mpmath.workdps(dps):
        return mpmath.mpf(10) ** exponent


def _sympy_equal(ref: Expression, ans: Expression) -> bool:
    """Exact constants beyond mpmath's reach (huge or tiny parts): SymPy's exact arithmetic,
    then its adaptive evalf of the difference."""

    from ..language.builder import build_sympy

    try:
        reference = build_sympy(ref.node)
    except InputError as exc:  # too large for SymPy too: the author's error, not the learner's
        raise ConfigError(f"the reference answer {ref.text!r}: {exc.message}",
                          field="reference") from None
    difference = reference - build_sympy(ans.node)
    if difference == 0:
        return True
    value = difference.evalf(30, maxn=MAX_DPS * 4)
    return bool(value == 0 or (value.is_Number and value._prec <= 1))  # noqa: SLF001


def _overflow_only(ref: Expression, ans: Expression, names: tuple[str, ...], points: np.ndarray,
                   exact: bool, options: GradeOptions, deadline: float) -> bool:
    """Whether the answer is finite (and right) where floating point overflowed: mpmath has no
    exponent limit, so x^1000 - x^1000 + x is x, not inf - inf."""
    for i in range(min(points.shape[1], 3)):
        _check_deadline(deadline)
        point = _mp_point(names, points[:, i])
        if exact:
            if _mp_equal(ref, ans, point, deadline) is not True:
                return False
            continue
        try:
            with mpmath.workdps(30):
                r = evaluate_mpmath(ref.node, point)
                a = evaluate_mpmath(ans.node, point)
                difference, size = abs(a - r), abs(r)
                tolerance = (options.relative_tolerance or DEFAULT_RELATIVE) * size + (
                    options.absolute_tolerance or 0)
                if difference > tolerance:
                    return False
        except (NotExact, Undefined, OverflowError, ValueError, ZeroDivisionError):
            return False
    return True


def _compare_constants(ref: Expression, ans: Expression, options: GradeOptions,
                       exact: bool, deadline: float, memo: _LRU | None = None) -> Outcome:
    if exact and ref.rational and ans.rational:
        try:
            r = evaluate_exact(ref.node, {})
            try:
                a = evaluate_exact(ans.node, {})
            except Undefined:
                return Outcome(False, "Your answer is undefined (for example, a division by zero).")
            return Outcome(a == r)
        except (NotExact, Undefined):
            pass
    if exact:
        verdict = _mp_equal(ref, ans, {}, deadline, memo)
        if verdict is not None:
            return Outcome(verdict)
        try:
            return Outcome(_sympy_equal(ref, ans))
        except (TypeError, ValueError, ArithmeticError):
            return _compare_special(ref, ans, options)
    try:
        with mpmath.workdps(30):
            r = evaluate_mpmath(ref.node, {})
            a = evaluate_mpmath(ans.node, {})
    except (NotExact, Undefined):
        return _compare_special(ref, ans, options)
    # Values beyond a float's range (1e309 against 1e308, 0.5*10^(-400) against
    # -0.5*10^(-400), which were both 0 in floats) are compared scaled together: every
    # tolerance test is homogeneous in the values and the absolute tolerance.
    scale = max(abs(r), abs(a))
    if not (mpmath.isfinite(scale) and (scale > 1e300 or 0 < scale < 1e-300)):
        scale = mpmath.mpf(1)
    elif options.absolute_tolerance is not None:
        options = dataclasses.replace(
            options, absolute_tolerance=float(options.absolute_tolerance / scale))
    r_c, a_c = complex(r / scale), complex(a / scale)
    noise = float(_noise_scale(ref) / scale)
    floor = max(abs(r_c), noise) or 1.0
    ok = bool(_close(np.array([a_c]), np.array([r_c]), np.array([floor]), options)[0])
    if ok:
        return Outcome(True)
    return Outcome(False, _feedback_numeric(np.array([a_c]), np.array([r_c]), ans, ref, options))


def _noise_scale(expr: Expression) -> float:
    """Largest operand of a sum or argument of a function in a constant expression."""
    fn = compile_numpy_scaled(expr.node, {})
    with np.errstate(all="ignore"):
        _, scale = fn(np.zeros((0, 1), dtype=complex))
    value = float(scale[0])
    return value if np.isfinite(value) else 0.0


def _compare_special(ref: Expression, ans: Expression, options: GradeOptions) -> Outcome:
    """oo, zoo and nan as values, through SymPy (sizes were bounded when building).

    Small constants (`oo + 1`, `1/0`, `0*oo`) get SymPy's values from `special` without
    importing SymPy, and the same decisions as below.
    """
    r_fast, a_fast = evaluate_special(ref.node), evaluate_special(ans.node)
    if r_fast is not None and a_fast is not None:
        if isinstance(r_fast, Special) or isinstance(a_fast, Special):
            return Outcome(r_fast is a_fast)  # nan matches nan, as SymPy's r == a says
        r_fast_value, a_fast_value = to_complex(r_fast), to_complex(a_fast)
        floor = max(abs(r_fast_value), 1e-300)
        return Outcome(bool(_close(np.array([a_fast_value]), np.array([r_fast_value]),
                                   np.array([floor]), options)[0]))

    from ..language.builder import build_sympy, load_sympy

    sp = load_sympy()

    symbols: dict[str, Any] = {}
    try:
        r = build_sympy(ref.node, symbols=symbols)
    except InputError as exc:
        raise ConfigError(f"the reference answer {ref.text!r}: {exc.message}",
                          field="reference") from None
    a = build_sympy(ans.node, symbols=symbols)
    specials = (sp.oo, -sp.oo, sp.zoo, sp.nan)
    if r == a:  # the same expression (oo*x vs oo*x): simplify(r - a) would give nan
        return Outcome(True)
    r_special = any(r == s for s in specials)
    a_special = any(a == s for s in specials)
    if r_special or a_special:
        return Outcome(bool(r == a) or (r is sp.nan and a is sp.nan))
    if (r.free_symbols or a.free_symbols) and (ref.special or ans.special):
        difference = sp.simplify(r - a)
        return Outcome(bool(difference == 0))
    try:
        r_value, a_value = complex(r.evalf(30)), complex(a.evalf(30))
    except (TypeError, ValueError):
        return Outcome(bool(sp.simplify(r - a) == 0))
    floor = max(abs(r_value), 1e-300)
    return Outcome(bool(_close(np.array([a_value]), np.array([r_value]), np.array([floor]),
                               options)[0]))


# ------------------------------------------------------------------------------ tolerance

def _default_tolerance(r: np.ndarray, floor_scale: np.ndarray) -> np.ndarray:
    """What the default tolerances allow |a - r| to be, elementwise."""
    return DEFAULT_RELATIVE * np.abs(r) + DEFAULT_ABSOLUTE_FLOOR * floor_scale


def _number_text(value: float) -> str:
    """A probe coordinate as a learner would type it: an integer, or a few digits."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}".replace("e+", "e")


def _close(a: np.ndarray, r: np.ndarray, floor_scale: np.ndarray,
           options: GradeOptions, tolerance: np.ndarray | None = None) -> np.ndarray:
    """|a - r| within tolerance, elementwise, as the contract defines it. `tolerance` is
    `_default_tolerance(r, floor_scale)` when the caller has it already (a question's samples
    keep theirs)."""
    with np.errstate(all="ignore"):
        difference = np.abs(a - r)
        if options.explicit_tolerance:
            magnitude = np.abs(r)
            ok = np.zeros(a.shape, dtype=bool)
            slack = 1 + 1e-9  # absorbs binary floating point: 1.05 vs 1 at 0.05 passes
            if options.relative_tolerance is not None:
                ok |= difference <= options.relative_tolerance * magnitude * slack + 1e-300
            if options.absolute_tolerance is not None:
                ok |= difference <= options.absolute_tolerance * slack + 1e-15 * magnitude
        else:
            if tolerance is None:
                tolerance = _default_tolerance(r, floor_scale)
            ok = difference <= tolerance
        if ok.all():  # the usual case: no infinite or nan values to match up
            return np.asarray(ok)
        both_inf = (a == r) & ~np.isfinite(r)
        both_nan = np.isnan(a) & np.isnan(r)
    return np.asarray(ok | both_inf | both_nan)


# ------------------------------------------------------------------------------- feedback

def _feedback_undefined(ans: Expression, ref: Expression) -> str:
    from .slips import extra_variables

    return extra_variables(ref, ans) or (
        "Your answer is undefined at some points where the expected answer is defined.")


def _feedback_numeric(a: np.ndarray, r: np.ndarray, ans: Expression, ref: Expression,
                      options: GradeOptions) -> str | None:
    from .slips import extra_variables

    extra = extra_variables(ref, ans)
    if extra is not None:
        return extra
    with np.errstate(all="ignore"):
        if not ans.exact:
            relative = np.abs(a - r) / np.maximum(np.abs(r), 1e-300)
            if np.all(relative < 1e-2):
                return "Your answer is close, but not within the tolerance: give more digits."
    return None


_COMPARED_OPTIONS = tuple(f.name for f in dataclasses.fields(GradeOptions) if f.compare)


def _options_bytes(options: GradeOptions) -> bytes | None:
    """Bytes equal for two options exactly when they are equal (`==`), in every process: the
    compared fields, made canonical (`_canonical`), through marshal version 2 (exact about
    types; unlike versions 3 and 4, without back-references and writing a string the same
    whether or not it is interned). None when the options hold something else (a subclass, a
    NaN): then results are not shared."""
    if type(options) is not GradeOptions:
        return None  # dataclass equality requires the same class
    try:
        fields = tuple(_canonical(getattr(options, name)) for name in _COMPARED_OPTIONS)
        return marshal.dumps(fields, 2)
    except (TypeError, ValueError):
        return None


def _canonical(value: Any) -> Any:
    """Plain data that is the same for values Python finds equal and different otherwise:
    True, 1 and 1.0 are 1, 0.0 and -0.0 are 0, a feedback rule is a list (nothing else in
    options is)."""
    kind = type(value)
    if value is None or kind is str or kind is int:
        return value
    if kind is float:
        if value != value:
            raise ValueError("NaN is not equal to itself")
        return int(value) if value.is_integer() else value
    if kind is bool:
        return int(value)
    if kind is tuple:
        return tuple(map(_canonical, value))
    if kind is FeedbackRule:
        return [_canonical(value.answer), _canonical(value.message)]
    raise TypeError(f"no canonical form for {kind.__name__}")


_DEFAULT = Checker()


def check(reference: str, answer: str, options: GradeOptions) -> Grade:
    """Grade with the process-wide default checker (its caches are bounded)."""
    return _DEFAULT.check(reference, answer, options)
