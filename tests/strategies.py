"""Random learner-syntax text built from the grammar's pieces, for property tests and fuzzing.

One generator, two sources of randomness: hypothesis (`expressions()`, which shrinks a failure to
a small example) and a seeded `random.Random` (`random_expression()`, for `scripts/fuzz.py`, which
counts failures over thousands of examples instead of stopping at the first). Both make every
choice through a `Chooser`, so they produce the same language.

The pieces come from the grammar (`grammar/mathgrader.lark`) and the function table: numbers,
the variables x y z a b, constants, `+ - * / ^`, unary signs, brackets and calls with an arity the
table allows. Operands get brackets exactly where precedence needs them (and sometimes where it
does not), so every generated text parses. `Blocks` says which pieces to use:

- `GRAMMAR`: everything, decimals and large numbers included (parser and fuzz tests);
- `EXACT`: no decimals, no oo/zoo/nan, small exponents and arguments that keep SymPy's rewrites
  quick (the metamorphic tests).

`junk_text()` mixes valid pieces with junk (unbalanced brackets, stray operators, Unicode, NUL,
very long runs) for the tests that arbitrary text only ever raises `InputError`.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from mathgrader.language.table import ALIASES, CONSTANTS, FUNCTIONS, VARIABLE_WARNINGS

__all__ = [
    "EXACT",
    "FUZZING",
    "GRAMMAR",
    "Blocks",
    "Chooser",
    "RandomChooser",
    "expressions",
    "junk_text",
    "property_settings",
    "random_expression",
]

T = TypeVar("T")

# `make fuzz` sets MATHGRADER_FUZZ=1 (tests/conftest.py loads the "fuzz" hypothesis profile then).
FUZZING = os.environ.get("MATHGRADER_FUZZ") == "1"
FUZZ_FACTOR = int(os.environ.get("MATHGRADER_FUZZ_FACTOR", "20"))


def property_settings(examples: int, **overrides: Any) -> settings:
    """Settings for a property test: `examples` under `make test`, many more under `make fuzz`.

    Under `make test` the examples are derandomized (the same on every run and machine); under
    `make fuzz` they are fresh each run, and hypothesis prints how to reproduce a failure.
    """
    values: dict[str, Any] = {
        "max_examples": examples * FUZZ_FACTOR if FUZZING else examples,
        "deadline": None,
        "derandomize": not FUZZING,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much,
                                   HealthCheck.data_too_large],
    }
    values.update(overrides)
    return settings(**values)


# ------------------------------------------------------------------------ sources of choices

class Chooser(Protocol):
    def integer(self, low: int, high: int) -> int: ...
    def pick(self, options: Sequence[T]) -> T: ...


class RandomChooser:
    """Choices from a seeded `random.Random`."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def pick(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]


class _HypothesisChooser:
    """Choices drawn through hypothesis, so that failures shrink (towards the first option)."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw

    def integer(self, low: int, high: int) -> int:
        return self.draw(st.integers(min_value=low, max_value=high))

    def pick(self, options: Sequence[T]) -> T:
        return options[self.draw(st.integers(min_value=0, max_value=len(options) - 1))]


# ------------------------------------------------------------------------------- the pieces

@dataclass(frozen=True)
class Blocks:
    """Which pieces of the grammar to draw from, and how much of them."""

    variables: tuple[str, ...]  # repeated names are drawn more often
    constants: tuple[str, ...]
    functions: tuple[str, ...]
    numbers: Callable[[Chooser], str]
    exponents: Callable[[Chooser], str] | None  # None: any operand may be an exponent
    max_depth: int
    # Percent chance of a leaf at each depth (the last value repeats).
    leaf_percent: tuple[int, ...]
    spaces: bool
    list_calls: bool  # gcd((a, b, c)), lcm([a, b])
    tame_arguments: bool  # small integer indices for root, binomial and mod


def _exact_number(chooser: Chooser) -> str:
    kind = chooser.integer(0, 9)
    if kind < 7:
        return str(chooser.integer(1, 9))
    if kind < 9:
        return str(chooser.integer(0, 60))
    return str(chooser.integer(100, 10_000))


def _any_number(chooser: Chooser) -> str:
    kind = chooser.integer(0, 9)
    if kind < 5:
        return _exact_number(chooser)
    if kind == 5:
        return str(chooser.integer(0, 10**30))
    whole = str(chooser.integer(0, 999))
    fraction = str(chooser.integer(0, 9999))
    text = chooser.pick([f"{whole}.{fraction}", f".{fraction}", whole])
    if chooser.integer(0, 2) == 0:
        text += f"e{chooser.pick(['', '+', '-'])}{chooser.integer(0, 40)}"
    return text


def _small_exponent(chooser: Chooser) -> str:
    return chooser.pick(["2", "3", "-1", "(1/2)", "-2", "4", "(1/3)", "(3/2)", "x", "-(1/2)",
                         "(2/3)", "y", "5"])


EXACT = Blocks(
    variables=("x",) * 6 + ("y",) * 3 + ("z", "a", "b"),
    constants=("pi", "E", "pi", "E", "I", "GoldenRatio", "EulerGamma", "Catalan"),
    functions=(
        "sin", "cos", "tan", "exp", "ln", "sqrt",  # the common ones, twice as often
        "sin", "cos", "tan", "exp", "ln", "sqrt",
        "log", "root", "cot", "sinh", "cosh", "tanh", "coth", "asin", "acos", "atan", "acot",
        "asinh", "acosh", "atanh", "acoth", "abs", "atan2", "erf", "deg", "rad", "max", "min",
        "floor", "ceiling", "sign", "mod", "binomial", "re", "im", "conjugate", "arg",
    ),
    numbers=_exact_number,
    exponents=_small_exponent,
    max_depth=4,
    leaf_percent=(10, 35, 55, 75, 100),
    spaces=False,
    list_calls=False,
    tame_arguments=True,
)

GRAMMAR = Blocks(
    variables=("x", "y", "z", "a", "b", "e", "i", "t", "theta", "x1", "Pi", "n_2"),
    constants=tuple(sorted(CONSTANTS)),
    functions=tuple(sorted(FUNCTIONS)),
    numbers=_any_number,
    exponents=None,
    max_depth=5,
    leaf_percent=(15, 35, 50, 70, 85, 100),
    spaces=True,
    list_calls=True,
    tame_arguments=False,
)

# Precedence levels of the grammar: an operand below the level its place needs gets brackets.
_SUM, _PRODUCT, _UNARY, _POWER, _ATOM = range(5)


def _wrap(chooser: Chooser, text: str, level: int, needed: int) -> str:
    if level < needed or chooser.integer(0, 19) == 0:  # sometimes a redundant bracket
        return f"({text})"
    return text


def _leaf(chooser: Chooser, blocks: Blocks) -> str:
    kind = chooser.integer(0, 9)
    if kind < 5:
        return chooser.pick(blocks.variables)
    if kind < 8:
        return blocks.numbers(chooser)
    return chooser.pick(blocks.constants)


def _node(chooser: Chooser, blocks: Blocks, depth: int) -> tuple[str, int]:
    """Text of a random expression and its precedence level."""
    percent = blocks.leaf_percent[min(depth, len(blocks.leaf_percent) - 1)]
    if depth >= blocks.max_depth or chooser.integer(0, 99) < percent:
        return _leaf(chooser, blocks), _ATOM
    kind = chooser.pick(["call", "sum", "product", "power", "call", "neg", "sum", "product"])
    space = " " if blocks.spaces and chooser.integer(0, 3) == 0 else ""
    if kind == "call":
        return _call(chooser, blocks, depth), _ATOM
    if kind == "neg":
        operand, level = _node(chooser, blocks, depth + 1)
        sign = "-" if not blocks.spaces or chooser.integer(0, 4) else "+"
        return sign + _wrap(chooser, operand, level, _UNARY), _UNARY
    if kind == "power":
        base, level = _node(chooser, blocks, depth + 1)
        base = _wrap(chooser, base, level, _ATOM)
        if blocks.exponents is not None:
            exponent = blocks.exponents(chooser)
        else:
            exponent, level = _node(chooser, blocks, depth + 1)
            exponent = _wrap(chooser, exponent, level, _POWER)
        return f"{base}{space}^{space}{exponent}", _POWER
    left, left_level = _node(chooser, blocks, depth + 1)
    right, right_level = _node(chooser, blocks, depth + 1)
    if kind == "sum":
        op, level = chooser.pick(["+", "-"]), _SUM
        left, right = _wrap(chooser, left, left_level, _SUM), _wrap(
            chooser, right, right_level, _PRODUCT)
    else:
        op, level = chooser.pick(["*", "*", "/"]), _PRODUCT
        left, right = _wrap(chooser, left, left_level, _PRODUCT), _wrap(
            chooser, right, right_level, _UNARY)
    return f"{left}{space}{op}{space}{right}", level


def _argument(chooser: Chooser, blocks: Blocks, depth: int) -> str:
    return _node(chooser, blocks, depth + 1)[0]


def _call(chooser: Chooser, blocks: Blocks, depth: int) -> str:
    name = chooser.pick(blocks.functions)
    spec = FUNCTIONS[name]
    if blocks.tame_arguments:
        if name == "root":
            index = chooser.pick(["2", "3", "4", "5", "-3"])
            return f"root({_argument(chooser, blocks, depth)}, {index})"
        if name == "binomial":
            return f"binomial({_argument(chooser, blocks, depth)}, {chooser.integer(0, 4)})"
        if name == "mod":
            return f"mod({_argument(chooser, blocks, depth)}, {chooser.integer(2, 7)})"
    if blocks.list_calls and spec.list_form and chooser.integer(0, 2) == 0:
        count = chooser.integer(1, 4)
        items = [_argument(chooser, blocks, depth) for _ in range(count)]
        opener, closer = chooser.pick([("(", ")"), ("[", "]")])
        if opener == "(" and count == 1:
            items *= 2  # (a) is a group, not a one-element tuple
        return f"{name}({opener}{', '.join(items)}{closer})"
    high = spec.max_args if spec.max_args is not None else spec.min_args + 1
    count = chooser.integer(spec.min_args, high)
    return f"{name}({', '.join(_argument(chooser, blocks, depth) for _ in range(count))})"


def learner_text(chooser: Chooser, blocks: Blocks = GRAMMAR) -> str:
    """One random expression in the learner syntax."""
    return _node(chooser, blocks, 0)[0]


def random_expression(rng: random.Random, blocks: Blocks = EXACT) -> str:
    """The seeded twin of `expressions()`, for long runs that count rather than stop."""
    return learner_text(RandomChooser(rng), blocks)


def expressions(blocks: Blocks = GRAMMAR) -> st.SearchStrategy[str]:
    """Hypothesis strategy: learner-syntax expressions that always parse (sizes aside)."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        return learner_text(_HypothesisChooser(draw), blocks)

    return build()


# ------------------------------------------------------------------------------------ junk

_TOKENS = sorted({*FUNCTIONS, *CONSTANTS, *ALIASES, *VARIABLE_WARNINGS}) + [
    "+", "-", "*", "/", "^", "(", ")", "[", "]", ",", ".", "e", "E", "1e", "2.", ".5", "1.5e-3",
    "**", "//", "==", "=", "!", "%", "&", "|", "~", "<", ">", "{", "}", ";", ":", "'", '"', "\\",
    "$", "#", "@", "_", "`", "?", " ", "  ", "\t", "\n", "\r",
]
_UNICODE = [
    "\u2212", "\u00d7", "\u00b7", "\u00f7", "\u03c0", "\u221a", "\u00b2", "\u00b3", "\u2074",
    "\u00bd", "\u221e", "\u2013", "\u2014", "\uff08", "\uff09", "\uff11", "\u0661", "\u00e9",
    "\u0301", "\u200b", "\u200e", "\u202e", "\ufeff", "\u00a0", "\u2028", "\U0001d465",
    "\U0001f600", "\ufffd", "\x00", "\x01", "\x1b", "\x7f", "\ud7ff", "\U0010ffff",
]
_REPEATS = [1, 1, 1, 1, 2, 3, 10, 100, 700, 2001]


@st.composite
def _fragment(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        piece = draw(expressions(GRAMMAR))
    elif kind <= 2:
        piece = draw(st.sampled_from(_TOKENS))
    elif kind == 3:
        piece = draw(st.sampled_from(_UNICODE))
    elif kind == 4:
        piece = draw(st.text(max_size=4))
    else:
        piece = draw(st.sampled_from(["(", ")", "[", "]", "(" * 61, ")" * 3, "sin(" * 5]))
    return piece * draw(st.sampled_from(_REPEATS))


def junk_text() -> st.SearchStrategy[str]:
    """Text assembled from grammar tokens, valid expressions and junk, sometimes very long."""
    return st.lists(_fragment(), min_size=0, max_size=8).map("".join)
