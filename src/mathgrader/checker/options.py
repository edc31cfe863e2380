"""Grading options: validated once, at construction, into a frozen value shared by every caller."""

from __future__ import annotations

import difflib
import marshal
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

__all__ = ["DOMAINS", "FORMS", "GradeOptions"]

DOMAINS = ("real", "positive", "integer", "complex")
FORMS = ("any", "expanded", "factored", "simplified", "numeric", "exact", "lowest_terms")
DEFAULT_RELATIVE = 1e-6
DEFAULT_TIMEOUT = 2.0
MAX_BOUND = 1e100  # interval bounds: sampling draws between them in floating point

Domain = str | tuple[float, float]


@dataclass(frozen=True, slots=True)
class FeedbackRule:
    answer: str
    message: str


@dataclass(frozen=True, slots=True)
class GradeOptions:
    relative_tolerance: float | None = None
    absolute_tolerance: float | None = None
    variables: tuple[tuple[str, Domain], ...] = ()
    form: str = "any"
    forbid: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()
    list: str | None = None
    feedback: tuple[FeedbackRule, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    seed: int = 0
    extra: tuple[tuple[str, Any], ...] = field(default=(), compare=False)
    # Options key every cache lookup of a check; hashing ten fields on each would cost a cached
    # answer a third of its time, so the hash is computed once.
    _hash: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((
            self.relative_tolerance, self.absolute_tolerance, self.variables, self.form,
            self.forbid, self.answers, self.list, self.feedback, self.timeout, self.seed)))

    def __hash__(self) -> int:
        return self._hash

    @property
    def explicit_tolerance(self) -> bool:
        return self.relative_tolerance is not None or self.absolute_tolerance is not None

    def domain_of(self, name: str) -> Domain:
        return dict(self.variables).get(name, "real")

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any] | None) -> GradeOptions:
        """Validate a JSON/TOML/CLI options object; unknown or ill-typed options are errors."""
        if not options and (options is None or isinstance(options, Mapping)):
            # One shared value: cache keys holding it then compare by identity, not by field.
            return _DEFAULTS if cls is GradeOptions else cls()
        if cls is not GradeOptions or type(options) is not dict:
            return cls._validate(options)
        # A batch repeats the same few options objects on every line of a question, and
        # validating one costs a repeated answer a third of its check: decoded JSON objects are
        # looked up by their exact content, types included (1, 1.0 and true differ).
        key = _content_key(options)
        if key is None:
            return cls._validate(options)
        validated = _VALIDATED.get(key)
        if validated is None:
            validated = cls._validate(options)  # a ConfigError is raised each time, not kept
            if len(_VALIDATED) >= _VALIDATED_SIZE:
                _VALIDATED.clear()  # one step, safe beside other threads; refilled as needed
            _VALIDATED[key] = validated
        return validated

    @classmethod
    def _validate(cls, options: Any) -> GradeOptions:
        if not isinstance(options, Mapping):
            raise ConfigError("options must be an object", field="options")
        known = {
            "relative_tolerance", "absolute_tolerance", "variables", "form", "forbid", "answers",
            "list", "feedback", "timeout", "seed",
        }
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(
                f"unknown option {unknown[0]!r}; known options: {', '.join(sorted(known))}",
                field=unknown[0],
            )
        kwargs: dict[str, Any] = {}
        for name in ("relative_tolerance", "absolute_tolerance"):
            if options.get(name) is not None:
                kwargs[name] = _non_negative(name, options[name])
        if options.get("timeout") is not None:
            kwargs["timeout"] = _non_negative("timeout", options["timeout"], positive=True)
        if options.get("seed") is not None:
            seed = options["seed"]
            if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
                raise ConfigError("seed must be an integer from 0 to 2^63 - 1", field="seed")
            kwargs["seed"] = seed
        if options.get("variables") is not None:
            kwargs["variables"] = _variables(options["variables"])
        if options.get("form") is not None:
            form = options["form"]
            if form not in FORMS:
                raise ConfigError(f"form must be one of {', '.join(FORMS)}", field="form")
            kwargs["form"] = form
        if options.get("forbid") is not None:
            kwargs["forbid"] = _forbid(options["forbid"])
        if options.get("answers") is not None:
            answers = _strings("answers", options["answers"])
            if not answers:
                raise ConfigError("answers must list at least one expression", field="answers")
            kwargs["answers"] = answers
        if options.get("list") is not None:
            if options["list"] not in ("ordered", "unordered"):
                raise ConfigError('list must be "ordered" or "unordered"', field="list")
            kwargs["list"] = options["list"]
        if options.get("feedback") is not None:
            kwargs["feedback"] = _feedback(options["feedback"])
        return cls(**kwargs)


_DEFAULTS = GradeOptions()

# Options objects already validated, by content (see `from_mapping`): a bounded memo of a pure
# function.
_VALIDATED: dict[Any, GradeOptions] = {}
_VALIDATED_SIZE = 512
_KEY_LIMIT = 2048  # bytes; larger options objects are validated every time


def _content_key(options: dict[str, Any]) -> bytes | None:
    """A key equal for two options objects exactly when they hold the same data, types
    included (in Python 1 == 1.0 == True and 0.0 == -0.0, so equality will not do): their
    marshal serialization, which is exact about types and, in version 2, has no
    back-references, so that equal data gives equal bytes. None for anything marshal refuses
    (objects other than plain data) and for large objects."""
    try:
        key = marshal.dumps(options, 2)
    except ValueError:  # not plain data, or nested beyond marshal's depth
        return None
    return key if len(key) <= _KEY_LIMIT else None


def _non_negative(name: str, value: Any, positive: bool = False) -> float:
    """A finite number >= 0 (> 0 with `positive`), or the one message that says which."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be a number", field=name)
    try:
        number = float(value)
    except OverflowError:  # an integer beyond a float's range
        number = math.inf
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        bound = "> 0" if positive else ">= 0"
        raise ConfigError(f"{name} must be a finite number {bound}", field=name)
    return number


def _strings(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(f"{name} must be a list of strings", field=name)
    if not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{name} must be a list of strings", field=name)
    return tuple(value)


def _forbid(value: Any) -> tuple[str, ...]:
    """Function names of the learner syntax: a name it does not have (a typo, arcsin for asin)
    would forbid nothing, silently."""
    from ..language.table import FUNCTIONS

    names = _strings("forbid", value)
    for name in names:
        if name not in FUNCTIONS:
            close = difflib.get_close_matches(name, FUNCTIONS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"forbid names {name!r}, which is not a function of the learner"
                              f" syntax{hint}", field="forbid")
    return names


def _variables(value: Any) -> tuple[tuple[str, Domain], ...]:
    if not isinstance(value, Mapping):
        raise ConfigError('variables must be a table such as {x = "real"}', field="variables")
    result: list[tuple[str, Domain]] = []
    for name, domain in value.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(f"{name!r} is not a variable name", field="variables")
        if isinstance(domain, str):
            if domain not in DOMAINS:
                raise ConfigError(
                    f"the domain of {name} must be one of {', '.join(DOMAINS)} or [low, high]",
                    field="variables",
                )
            result.append((name, domain))
            continue
        if (
            isinstance(domain, list | tuple)
            and len(domain) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in domain)
            # abs() first: math.isfinite raises on an integer beyond a float's range, and a
            # comparison is False for NaN and infinities alike
            and all(abs(v) <= MAX_BOUND for v in domain)
            and domain[0] < domain[1]
        ):
            result.append((name, (float(domain[0]), float(domain[1]))))
            continue
        raise ConfigError(
            f"the domain of {name} must be one of {', '.join(DOMAINS)}"
            f" or [low, high] with low < high, both within +-{MAX_BOUND:g}",
            field="variables",
        )
    return tuple(sorted(result))


def _feedback(value: Any) -> tuple[FeedbackRule, ...]:
    if not isinstance(value, list | tuple):
        raise ConfigError('feedback must be a list of {answer, message}', field="feedback")
    rules = []
    for rule in value:
        if (
            not isinstance(rule, Mapping)
            or not isinstance(rule.get("answer"), str)
            or not isinstance(rule.get("message"), str)
        ):
            raise ConfigError(
                'each feedback entry needs "answer" and "message" strings', field="feedback"
            )
        rules.append(FeedbackRule(rule["answer"], rule["message"]))
    return tuple(rules)
