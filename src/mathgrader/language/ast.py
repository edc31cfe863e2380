"""The expression tree the parser builds: exactly what the learner typed, nothing evaluated.

Every backend reads this tree: the SymPy builder, the preview renderers and the checker's
numeric evaluators. Offsets `start`/`end` are 0-based positions in the learner's text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

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
