"""SymPy expression -> learner syntax, so derived expressions go back through the grammar.

Used where the checker derives an expression with SymPy (a derivative for feedback; rewrites in
property tests) and must compare it like any other answer. Natural logs print as `ln`, powers with
`^`, every product with an explicit `*`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["to_learner"]

_FUNCTION_NAMES = {
    "Abs": "abs", "Max": "max", "Min": "min", "Mod": "mod", "ceiling": "ceiling",
    "floor": "floor", "sign": "sign", "exp": "exp", "log": "ln", "cos": "cos", "cosh": "cosh",
    "cot": "cot", "coth": "coth", "sin": "sin", "sinh": "sinh", "tan": "tan", "tanh": "tanh",
    "acos": "acos", "acosh": "acosh", "acot": "acot", "acoth": "acoth", "asin": "asin",
    "asinh": "asinh", "atan": "atan", "atan2": "atan2", "atanh": "atanh", "arg": "arg",
    "conjugate": "conjugate", "im": "im", "re": "re", "erf": "erf", "binomial": "binomial",
    "gcd": "gcd", "lcm": "lcm", "sec": None, "csc": None,
}
_CONSTANTS = {
    "pi": "pi", "E": "E", "I": "I", "oo": "oo", "-oo": "-oo", "zoo": "zoo", "nan": "nan",
    "EulerGamma": "EulerGamma", "Catalan": "Catalan", "GoldenRatio": "GoldenRatio",
}


class NotPrintable(ValueError):
    """The expression uses something the learner syntax cannot write."""


def to_learner(expr: Any) -> str:
    """Text in the learner syntax for a SymPy expression (fully parenthesised where unsure)."""
    import sympy as sp

    if expr.is_Integer:
        return str(int(expr)) if expr >= 0 else f"(-{abs(int(expr))})"
    if expr.is_Rational:
        text = f"{abs(int(expr.p))}/{int(expr.q)}"
        return f"(-{text})" if expr < 0 else f"({text})"
    if expr.is_Float:
        text = repr(float(expr))
        if "e" in text or "inf" in text or "nan" in text:
            mantissa, _, exponent = f"{float(expr):.17e}".partition("e")
            text = f"{mantissa}*10^({int(exponent)})"
        return f"({text})" if text.startswith("-") else text
    if expr.is_Symbol:
        return str(expr.name)
    if str(expr) in _CONSTANTS:
        return _CONSTANTS[str(expr)]
    if expr is sp.S.ImaginaryUnit:
        return "I"
    if expr.is_Add:
        return "(" + " + ".join(to_learner(arg) for arg in expr.args) + ")"
    if expr.is_Mul:
        return "(" + "*".join(to_learner(arg) for arg in expr.args) + ")"
    if expr.is_Pow:
        base, exponent = expr.args
        return f"({to_learner(base)})^({to_learner(exponent)})"
    name = type(expr).__name__
    if hasattr(expr, "func") and getattr(expr.func, "__name__", None) in _FUNCTION_NAMES:
        learner = _FUNCTION_NAMES[expr.func.__name__]
        if learner is None:
            raise NotPrintable(name)
        args = expr.args
        if learner == "ln" and len(args) == 2:  # log(x, b)
            return f"(ln({to_learner(args[0])})/ln({to_learner(args[1])}))"
        return f"{learner}(" + ", ".join(to_learner(arg) for arg in args) + ")"
    raise NotPrintable(name)
