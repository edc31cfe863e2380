"""SymPy -> learner syntax: the text a learner would type for a SymPy expression.

Used by the metamorphic tests and `scripts/fuzz.py` to print SymPy's rewrites of a generated
expression back in the syntax the grader reads: explicit `*`, `^` for powers, `ln` for the
natural logarithm and `log` for base 10, `E`, `I`, `pi`, functions as `name(value)`. A power's
base is always an atom of the grammar (a name, a number, a call or a bracket), so `(x^2)^y`,
`(-1)^x` and `(1/2)^x` keep their brackets. Anything the learner syntax cannot say (a Piecewise,
a gamma function, a symbol with an unusual name...) raises `NotLearnerSyntax`.

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> to_learner(sp.exp(2 * x) * sp.log(x) / sp.log(10) - sp.sqrt(x) ** 3)
'-x^(3/2) + log(x)*exp(2*x)'
"""

from __future__ import annotations

import math
import re
from typing import Any

import sympy as sp
from mpmath.libmp import to_str
from sympy.core.function import Application, AppliedUndef
from sympy.printing.str import StrPrinter

from mathgrader.language.table import CONSTANTS, FUNCTIONS

__all__ = ["NotLearnerSyntax", "to_learner"]


class NotLearnerSyntax(ValueError):
    """The expression uses something the learner syntax has no way to write."""


# SymPy class name -> learner function name (only names the table knows).
_FUNCTION_NAMES = {
    "Abs": "abs", "Max": "max", "Min": "min", "Mod": "mod", "ceiling": "ceiling",
    "floor": "floor", "sign": "sign", "exp": "exp", "log": "ln", "cos": "cos", "cosh": "cosh",
    "cot": "cot", "coth": "coth", "sin": "sin", "sinh": "sinh", "tan": "tan", "tanh": "tanh",
    "acos": "acos", "acosh": "acosh", "acot": "acot", "acoth": "acoth", "asin": "asin",
    "asinh": "asinh", "atan": "atan", "atan2": "atan2", "atanh": "atanh", "arg": "arg",
    "conjugate": "conjugate", "im": "im", "re": "re", "erf": "erf", "binomial": "binomial",
}
# gcd and lcm of symbols stay unevaluated functions of those names (see table._gcd_like);
# `_Log10` stands for log(a)/log(10) while a product is printed.
_Log10 = sp.Function("_learner_log10")
_UNDEFINED_NAMES = {"gcd": "gcd", "lcm": "lcm", "_learner_log10": "log"}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


class _LearnerPrinter(StrPrinter):
    printmethod = "_learner"

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        name = expr.name
        if not _NAME.match(name) or name in FUNCTIONS or name in CONSTANTS:
            raise NotLearnerSyntax(f"the variable name {name!r}")
        return name

    def _print_Exp1(self, expr: Any) -> str:
        return "E"

    def _print_ImaginaryUnit(self, expr: Any) -> str:
        return "I"

    def _print_Float(self, expr: sp.Float) -> str:
        # Enough digits to give back the same binary value (17 for a double), as repr() does.
        digits = math.ceil(expr._prec * math.log10(2)) + 1
        text = to_str(expr._mpf_, digits)
        if not re.fullmatch(r"-?\d+(\.\d+)?(e[+-]?\d+)?", text):
            raise NotLearnerSyntax(f"the number {text}")
        return text

    def _print_Function(self, expr: Any) -> str:
        name = type(expr).__name__
        learner = (_UNDEFINED_NAMES.get(name) if isinstance(expr, AppliedUndef)
                   else _FUNCTION_NAMES.get(name))
        if learner is None:
            raise NotLearnerSyntax(f"the function {name}")
        args = expr.args
        if learner in ("max", "min"):
            args = sorted(args, key=sp.default_sort_key)
        return f"{learner}({', '.join(self._print(arg) for arg in args)})"

    # Max, Min and Mod are not Function subclasses in every SymPy version.
    _print_Max = _print_Min = _print_Mod = _print_Abs = _print_Function

    def _print_Mul(self, expr: sp.Mul) -> str:
        # log(a)/log(10) is the learner's log(a): print it as one call.
        inverse_ln10 = sp.Pow(sp.log(10), -1)
        if inverse_ln10 in expr.args:
            rest = list(expr.args)
            rest.remove(inverse_ln10)
            logs = [arg for arg in rest if isinstance(arg, sp.log)]
            if len(logs) == 1:
                rest.remove(logs[0])
                rewritten = sp.Mul(*rest, _Log10(logs[0].args[0]), evaluate=False)
                if not isinstance(rewritten, sp.Mul):
                    return str(self._print(rewritten))
                return str(super()._print_Mul(rewritten))
        return str(super()._print_Mul(expr))

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        base, exponent = expr.base, expr.exp
        if exponent is sp.S.Half:
            return f"sqrt({self._print(base)})"
        if exponent.is_Rational and exponent.is_negative:
            # ^ binds tighter than /, so 1/x^2 needs no bracket; 1/(x + 1) and 1/(2*x) do.
            positive = base if exponent == -1 else sp.Pow(base, -exponent, evaluate=False)
            denominator = self._print(positive)
            if not (_is_atom(positive) or isinstance(positive, sp.Pow)):
                denominator = f"({denominator})"
            return f"1/{denominator}"
        base_text = self._print(base)
        if not _is_atom(base):
            base_text = f"({base_text})"
        exponent_text = self._print(exponent)
        if not _is_atom(exponent):
            exponent_text = f"({exponent_text})"
        return f"{base_text}^{exponent_text}"

    def emptyPrinter(self, expr: Any) -> str:
        raise NotLearnerSyntax(f"{type(expr).__name__} has no learner syntax")


def _is_atom(expr: Any) -> bool:
    """Whether the grammar reads `expr`'s printed form as one atom (a valid base of ^)."""
    if isinstance(expr, sp.Symbol | sp.NumberSymbol) or expr in (sp.I, sp.oo, sp.zoo, sp.nan):
        return True
    if isinstance(expr, sp.Integer | sp.Float):
        return bool(expr >= 0)
    if isinstance(expr, sp.Pow) and expr.exp is sp.S.Half:
        return True  # printed as sqrt(...)
    return isinstance(expr, Application)  # printed name(args)


_UNPRINTABLE = (sp.Piecewise, sp.Integral, sp.Derivative, sp.Subs, sp.Sum, sp.Product,
                sp.Order, sp.core.relational.Relational, sp.Heaviside, sp.DiracDelta)


def to_learner(expr: sp.Basic) -> str:
    """The learner-syntax text of a SymPy expression; raises `NotLearnerSyntax` if there is none."""
    if not isinstance(expr, sp.Basic):
        raise TypeError(f"to_learner takes a SymPy expression, not {type(expr).__name__}")
    if expr.has(*_UNPRINTABLE) or not expr.is_commutative:
        raise NotLearnerSyntax(f"{expr} has no learner syntax")
    text = _LearnerPrinter({"order": None}).doprint(expr)
    if "**" in text:  # a printer path this class does not cover: refuse rather than guess
        raise NotLearnerSyntax(text)
    return text
