"""The expression nodes' hand-written constructors (`ast.CONSTRUCTORS`) build exactly what the
constructors `dataclasses` generates would build, and the nodes stay frozen.

They exist for speed (building nodes was a fifth of a parse); the risk is a field added to a
node class and not to its constructor, which the first test catches.
"""

from __future__ import annotations

import dataclasses
import inspect
from fractions import Fraction
from typing import Any

import pytest

from mathgrader.language import ast
from mathgrader.language.parser import parse_tree

CLASSES = list(ast.CONSTRUCTORS)


def plain_twin(cls: type) -> Any:
    """A dataclass with the same fields and the generated `__init__`."""
    return dataclasses.make_dataclass(
        cls.__name__, [(f.name, f.type, f) for f in dataclasses.fields(cls)], frozen=True)


def sample_values(cls: type) -> dict[str, Any]:
    return {f.name: (i, f"value of {f.name}") for i, f in enumerate(dataclasses.fields(cls))}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_constructor_takes_exactly_the_fields_in_order(cls: type) -> None:
    parameters = list(inspect.signature(cls).parameters)
    assert parameters == [f.name for f in dataclasses.fields(cls)]
    assert cls.__init__ is ast.CONSTRUCTORS[cls]  # type: ignore[misc]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_nodes_hold_what_the_generated_constructor_would_store(cls: type) -> None:
    values = sample_values(cls)
    twin = plain_twin(cls)(**values)
    for node in (cls(**values), cls(*values.values())):
        assert dataclasses.asdict(node) == dataclasses.asdict(twin)
        assert repr(node).split("(", 1)[1] == repr(twin).split("(", 1)[1]
        assert node == cls(**values) and hash(node) == hash(cls(**values))


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_nodes_stay_frozen_and_replaceable(cls: type) -> None:
    values = sample_values(cls)
    node = cls(**values)
    first = dataclasses.fields(cls)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(node, first, "changed")
    with pytest.raises(TypeError):
        cls(*list(values.values())[:-1])  # a field missing
    changed = dataclasses.replace(node, **{first: "changed"})
    assert getattr(changed, first) == "changed" and getattr(node, first) == values[first]


def test_a_parsed_tree_is_built_with_them() -> None:
    tree = parse_tree("-sin(2.5*x)^2 + gcd([4, 6]) + (pi)").node
    kinds = {type(node) for node in ast.walk(tree)}
    assert kinds == set(CLASSES)
    number = next(node for node in ast.walk(tree) if isinstance(node, ast.Number))
    assert (number.text, number.value, number.is_decimal) == ("2.5", Fraction(5, 2), True)
