"""Expression tree -> SymPy, without triggering huge computations.

SymPy evaluates numbers eagerly: `9^9^9^9` or `binomial(10^9, 5*10^8)` would never finish. Before
each numeric power or binomial is built, its size is estimated from logarithms; results with more
than `max_digits` digits are refused with `number_too_large`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..errors import InputError
from . import ast
from .table import CONSTANTS, FUNCTIONS

__all__ = ["build_sympy", "estimate_digits"]

MAX_DIGITS = 10_000


def _too_large(node: ast.Node, text: str | None) -> InputError:
    return InputError(
        "number_too_large",
        "This part of the expression is too large a number to grade.",
        column=node.start + 1,
        end_column=node.end + 1,
        hint=f"numbers may have at most {MAX_DIGITS} digits",
        text=text,
    )


def _magnitude(value: Any) -> float | None:
    """log10 of |value| for an exact SymPy number (rationals and integers), else None."""
    if getattr(value, "is_Rational", False):
        p, q = int(value.p), int(value.q)
        if p == 0:
            return 0.0
        return _log10_int(abs(p)) - _log10_int(q)
    if getattr(value, "is_Float", False):
        number = abs(float(value))
        return math.log10(number) if number > 0 else 0.0
    return None


def _log10_int(n: int) -> float:
    bits = n.bit_length()
    if bits < 1000:
        return math.log10(n)
    return (bits - 1) * math.log10(2)  # good to a digit, without converting a huge integer


def estimate_digits(base: float, exponent: float) -> float:
    """Digits of base^exponent given log10|base| and the exponent's value."""
    return abs(base * exponent)


def build_sympy(
    node: ast.Node,
    *,
    symbols: Mapping[str, Any] | None = None,
    text: str | None = None,
) -> Any:
    """Build the SymPy expression of `node`. Variables are real symbols unless `symbols` says."""
    import sympy as sp

    symbols = dict(symbols or {})
    # Post-order without recursion: parse trees are at most Limits.max_depth deep, but the
    # builder does not rely on it.
    results: dict[int, Any] = {}
    stack: list[tuple[ast.Node, bool]] = [(node, False)]
    while stack:
        current, ready = stack.pop()
        if not ready:
            stack.append((current, True))
            stack.extend((child, False) for child in reversed(current.children()))
            continue
        args = [results.pop(id(child)) for child in current.children()]
        results[id(current)] = _build_one(sp, current, args, symbols, text)
    return results[id(node)]


def _build_one(sp: Any, node: ast.Node, args: list[Any], symbols: dict[str, Any],
               text: str | None) -> Any:
    if isinstance(node, ast.Number):
        if node.is_decimal:
            return sp.Float(node.text, max(15, len(node.text)))
        return sp.Integer(node.value.numerator)
    if isinstance(node, ast.Name):
        if node.name not in symbols:
            symbols[node.name] = sp.Symbol(node.name, real=True)
        return symbols[node.name]
    if isinstance(node, ast.Constant):
        return CONSTANTS[node.name].sympy(sp)
    if isinstance(node, ast.Group):
        return args[0]
    if isinstance(node, ast.Unary):
        return -args[0] if node.op == "-" else args[0]
    if isinstance(node, ast.Sequence):
        return tuple(args)
    if isinstance(node, ast.Binary):
        left, right = args
        if node.op == "+":
            return left + right
        if node.op == "-":
            return left - right
        if node.op == "*":
            return left * right
        if node.op == "/":
            return left / right
        return _power(sp, node, left, right, text)
    if isinstance(node, ast.Call):
        spec = FUNCTIONS[node.name]
        if len(args) == 1 and isinstance(args[0], tuple):
            args = list(args[0])
        if node.name == "binomial":
            _check_binomial(node, args, text)
        if spec.list_form and len(args) > 2:
            folded = args[0]
            for value in args[1:]:
                folded = spec.sympy(sp, folded, value)
            return folded
        return spec.sympy(sp, *args)
    raise TypeError(f"unknown node {node!r}")  # pragma: no cover


def _power(sp: Any, node: ast.Binary, base: Any, exponent: Any, text: str | None) -> Any:
    base_size = _magnitude(base)
    if base_size is not None and getattr(exponent, "is_number", False):
        exponent_size = _magnitude(exponent)
        if exponent_size is None:
            # An irrational or symbolic-constant exponent: SymPy keeps it unevaluated.
            return sp.Pow(base, exponent)
        trivial = base.is_zero or abs(base) == 1
        if not trivial and (
            exponent_size > 7 or estimate_digits(base_size, float(exponent)) > MAX_DIGITS
        ):
            raise _too_large(node, text)
    elif getattr(exponent, "is_number", False) and _magnitude(exponent) is not None:
        # x^(10^9): symbolic, but no evaluator can use it.
        size = _magnitude(exponent)
        if size is not None and size > 6:
            raise _too_large(node, text)
    return sp.Pow(base, exponent)


def _check_binomial(node: ast.Call, args: list[Any], text: str | None) -> None:
    n, k = args
    if getattr(n, "is_number", False) and getattr(n, "is_real", False):
        try:
            size = abs(float(n))
        except (TypeError, ValueError):
            return
        if size > 10**5:
            raise _too_large(node, text)
    if getattr(k, "is_number", False) and getattr(k, "is_real", False):
        try:
            if abs(float(k)) > 10**5:
                raise _too_large(node, text)
        except (TypeError, ValueError):
            return
