"""The expression tree the parser builds: exactly what the learner typed, nothing evaluated.

Every backend reads this tree: the SymPy builder, the preview renderers and the checker's
numeric evaluators. Offsets `start`/`end` are 0-based positions in the learner's text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from fractions import Fraction
from typing import Any

__all__ = [
    "Binary",
    "Call",
    "Constant",
    "Group",
    "Name",
    "Node",
    "Number",
    "Sequence",
    "Unary",
    "walk",
]


@dataclass(frozen=True, slots=True)
class Node:
    start: int
    end: int

    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class Number(Node):
    text: str
    value: Fraction  # exact value of the literal, decimals included
    is_decimal: bool  # written with a point or an exponent: compared under tolerances


@dataclass(frozen=True, slots=True)
class Name(Node):
    """A variable."""

    name: str


@dataclass(frozen=True, slots=True)
class Constant(Node):
    """One of the named constants of the table (pi, E, I, J, oo, ...)."""

    name: str


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str  # "-" or "+"
    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str  # "+", "-", "*", "/", "^"
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True)
class Group(Node):
    """Parentheses the learner typed; kept so previews can show the input as written."""

    inner: Node

    def children(self) -> tuple[Node, ...]:
        return (self.inner,)


@dataclass(frozen=True, slots=True)
class Sequence(Node):
    """A tuple `(a, b, c)` or list `[a, b, c]`, allowed only as the list argument of gcd/lcm."""

    items: tuple[Node, ...]
    bracket: str  # "(" or "["

    def children(self) -> tuple[Node, ...]:
        return self.items


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]
    name_end: int  # offset just after the function name

    def children(self) -> tuple[Node, ...]:
        return self.args


# Constructors. A frozen dataclass's generated `__init__` stores each field through
# `object.__setattr__` (its own `__setattr__` refuses assignment), a generic attribute store that
# made building the nodes a fifth of a parse. These store straight through each slot's descriptor
# instead (cachegrind: 9.6k -> 6.2k instructions a `Binary`); assignment after construction is
# still refused, and `tests/language/test_node_constructors.py` holds each to its fields.


def _setters(cls: type) -> tuple[Any, ...]:
    """The `__set__` of each field's slot descriptor, in field order."""
    return tuple(next(klass.__dict__[f.name] for klass in cls.__mro__ if f.name in klass.__dict__)
                 .__set__ for f in fields(cls))


def _number(self: Number, start: int, end: int, text: str, value: Fraction,
            is_decimal: bool) -> None:
    s, e, t, v, d = _NUMBER
    s(self, start)
    e(self, end)
    t(self, text)
    v(self, value)
    d(self, is_decimal)


def _name(self: Name, start: int, end: int, name: str) -> None:
    s, e, n = _NAME
    s(self, start)
    e(self, end)
    n(self, name)


def _constant(self: Constant, start: int, end: int, name: str) -> None:
    s, e, n = _CONSTANT
    s(self, start)
    e(self, end)
    n(self, name)


def _unary(self: Unary, start: int, end: int, op: str, operand: Node) -> None:
    s, e, o, a = _UNARY
    s(self, start)
    e(self, end)
    o(self, op)
    a(self, operand)


def _binary(self: Binary, start: int, end: int, op: str, left: Node, right: Node) -> None:
    s, e, o, a, b = _BINARY
    s(self, start)
    e(self, end)
    o(self, op)
    a(self, left)
    b(self, right)


def _group(self: Group, start: int, end: int, inner: Node) -> None:
    s, e, i = _GROUP
    s(self, start)
    e(self, end)
    i(self, inner)


def _sequence(self: Sequence, start: int, end: int, items: tuple[Node, ...],
              bracket: str) -> None:
    s, e, i, b = _SEQUENCE
    s(self, start)
    e(self, end)
    i(self, items)
    b(self, bracket)


def _call(self: Call, start: int, end: int, name: str, args: tuple[Node, ...],
          name_end: int) -> None:
    s, e, n, a, ne = _CALL
    s(self, start)
    e(self, end)
    n(self, name)
    a(self, args)
    ne(self, name_end)


_NUMBER, _NAME, _CONSTANT, _UNARY, _BINARY, _GROUP, _SEQUENCE, _CALL = (
    _setters(cls) for cls in (Number, Name, Constant, Unary, Binary, Group, Sequence, Call))
CONSTRUCTORS = {Number: _number, Name: _name, Constant: _constant, Unary: _unary,
                Binary: _binary, Group: _group, Sequence: _sequence, Call: _call}
for _cls, _init in CONSTRUCTORS.items():
    _init.__qualname__ = f"{_cls.__qualname__}.__init__"
    _cls.__init__ = _init  # type: ignore[misc]
del _cls, _init


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents before children, without recursion."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children()))


def strip_groups(node: Node) -> Node:
    """The node inside any number of parentheses."""
    while isinstance(node, Group):
        node = node.inner
    return node
