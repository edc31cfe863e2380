"""Sizes no grader can finish: refused from the tree, before anything is evaluated.

`9^9^9^9`, `10^10^10`, `x^(10^10)` and `binomial(10^9, 5*10^8)` parse (and preview) fine, but
building or evaluating them would not end. `check_sizes` estimates each constant subexpression in
log space with plain floats and raises `number_too_large` when a value would need more than
`MAX_DIGITS` digits, or an exponent or binomial argument is beyond what an evaluator can use.
"""

from __future__ import annotations

import math

from ..errors import InputError
from . import ast

__all__ = ["MAX_DIGITS", "MAX_EXPONENT", "check_sizes"]

# Below Python's default limit for int -> str conversion (4300 digits), so every value can be
# printed, previewed and compared; the SymPy builder enforces the same limit on what it builds.
MAX_DIGITS = 4_000
MAX_EXPONENT = 1e4  # |exponent| allowed on a non-constant base: x^10000, not x^100000
MAX_BINOMIAL = 1e5


def check_sizes(node: ast.Node, text: str | None = None) -> None:
    """Raise `InputError("number_too_large")` for the first part too large to grade."""
    _estimate(node, text)


def _too_large(node: ast.Node, text: str | None, why: str) -> InputError:
    return InputError(
        "number_too_large",
        f"This part of the expression is too large to grade: {why}.",
        column=node.start + 1,
        end_column=node.end + 1,
        hint=f"numbers may have at most {MAX_DIGITS} digits",
        text=text,
    )


def _estimate(node: ast.Node, text: str | None) -> float | None:
    """An approximate value of a constant subexpression (inf when huge), None if it varies."""
    node = ast.strip_groups(node)
    if isinstance(node, ast.Number):
        try:
            return float(node.value)
        except OverflowError:
            return math.inf
    if isinstance(node, ast.Name):
        return None
    if isinstance(node, ast.Constant):
        # Magnitudes are what matter here: I and J count as 1 (I^(10^9) is just 1).
        return {"pi": math.pi, "E": math.e, "Catalan": 0.916, "EulerGamma": 0.577,
                "GoldenRatio": 1.618, "I": 1.0, "J": 1.0}.get(node.name, None)
    if isinstance(node, ast.Unary):
        inner = _estimate(node.operand, text)
        return None if inner is None else (-inner if node.op == "-" else inner)
    if isinstance(node, ast.Binary):
        left = _estimate(node.left, text)
        right = _estimate(node.right, text)
        if node.op == "^":
            return _power(node, left, right, text)
        if left is None or right is None:
            return None
        try:
            if node.op == "+":
                return left + right
            if node.op == "-":
                return left - right
            if node.op == "*":
                return left * right
            return left / right if right != 0 else None
        except (OverflowError, ValueError):
            return math.inf
    if isinstance(node, ast.Sequence):
        for item in node.items:
            _estimate(item, text)
        return None
    if isinstance(node, ast.Call):
        values = [_estimate(arg, text) for arg in node.args]
        if node.name == "binomial":
            for value in values:
                if value is not None and not abs(value) <= MAX_BINOMIAL:
                    raise _too_large(node, text, "binomial arguments are limited to 100000")
        if node.name in _EXPONENTIALS and values[0] is not None:
            return _exponential(node, values[0], text)
        return None  # function values are bounded by their arguments' sizes, checked above
    return None


# exp, sinh and cosh grow like e^|v|: their values are estimated too, so that exp(exp(exp(100))),
# 2^sinh(sinh(1000)) or x^exp(exp(10)) are refused here instead of overflowing (or stalling)
# the evaluators.
_EXPONENTIALS = {"exp", "sinh", "cosh"}


def _exponential(node: ast.Call, argument: float, text: str | None) -> float:
    growth = argument if node.name == "exp" else abs(argument)
    if not growth <= MAX_DIGITS * math.log(10):  # nan too
        raise _too_large(node, text, "the number has too many digits")
    function = {"exp": math.exp, "sinh": math.sinh, "cosh": math.cosh}[node.name]
    try:
        return function(argument)
    except OverflowError:  # sinh keeps its sign: sinh(-1000) is hugely negative
        return math.copysign(math.inf, argument) if node.name == "sinh" else math.inf


def _power(node: ast.Binary, base: float | None, exponent: float | None,
           text: str | None) -> float | None:
    if exponent is None:
        return None
    if base is not None and abs(base) in (0.0, 1.0):
        return base  # 0, 1, -1, I to any power: no size at all
    if not math.isfinite(exponent) or abs(exponent) > MAX_EXPONENT and base is None:
        raise _too_large(node, text, "the exponent is too large")
    if base is None:
        return None
    if not math.isfinite(base):
        raise _too_large(node, text, "the number has too many digits")
    digits = exponent * math.log10(abs(base))
    # Huge values are refused; tiny ones only when exact (1/10^5000 has 5000 digits, while
    # E^(-20000) is merely small).
    if digits > MAX_DIGITS or (digits < -MAX_DIGITS and _exact(node.left)):
        raise _too_large(node, text, "the number has too many digits")
    try:
        return float(abs(base) ** exponent)
    except OverflowError:
        return math.inf


def _exact(node: ast.Node) -> bool:
    return not any(
        isinstance(child, ast.Name | ast.Constant | ast.Call)
        or (isinstance(child, ast.Number) and child.is_decimal)
        for child in ast.walk(node)
    )
