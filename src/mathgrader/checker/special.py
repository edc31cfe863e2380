"""Small constants with oo, zoo or nan, valued as SymPy values them, without importing SymPy.

Most answers that use oo, zoo or nan are tiny constants (`oo + 1`, `-(oo)`, `1/0`, `0*oo`).
Comparing them through SymPy costs its import, the largest start-up cost of a batch worker, so
`evaluate_special` values such a constant here and the checker compares the values exactly as it
compares SymPy's (equivalence.py, `_compare_special`).

A value is what SymPy would build for the same tree: an exact `Fraction` for SymPy's Rational, a
`Float` (an mpmath number and its precision in bits) for SymPy's Float, or one of oo, -oo, zoo and
nan. Floats are SymPy's, not Python's: a literal keeps max(15, len(text)) digits and every operation
rounds as SymPy's does (mpmath's, to nearest), so a difference that cancels to zero, and 1/that,
come out as in SymPy. Only the cases read off SymPy's own number classes (and checked against
SymPy by tests/checker/test_special.py) are valued; for anything else (variables, functions,
other constants, a power it is not sure of, a number that may be too large for the builder)
`evaluate_special` returns None and the caller takes the SymPy path.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from mpmath import libmp

from ..language import ast

__all__ = ["Float", "Special", "Value", "evaluate_special", "to_complex"]

# Any number needing more bits than this is left to SymPy, whose builder refuses numbers of more
# than MAX_DIGITS (4000) digits: 4000 bits are about 1204 digits, far inside that limit.
MAX_BITS = 4_000
MAX_EXPONENT = 10_000

_NEAREST = libmp.round_nearest
_EVALF_PREC = libmp.dps_to_prec(30)  # the checker compares `complex(value.evalf(30))`
_FLOAT_PREC = libmp.dps_to_prec(15)  # complex() evaluates once more, at 15 digits


class Special(enum.Enum):
    OO = "oo"
    NEG_OO = "-oo"
    ZOO = "zoo"
    NAN = "nan"


@dataclass(frozen=True, slots=True)
class Float:
    """A SymPy Float: an mpmath number (`libmp` tuple) at a precision in bits."""

    mpf: tuple[Any, ...]
    prec: int

    @property
    def is_zero(self) -> bool:
        return self.mpf == libmp.fzero

    @property
    def negative(self) -> bool:
        return bool(self.mpf[0]) and not self.is_zero


Value = Fraction | Float | Special

OO, NEG_OO, ZOO, NAN = Special.OO, Special.NEG_OO, Special.ZOO, Special.NAN
_CONSTANTS = {"oo": OO, "zoo": ZOO, "nan": NAN}


class _Unknown(Exception):
    """A case this module does not value with certainty: SymPy decides."""


def evaluate_special(node: ast.Node) -> Value | None:
    """SymPy's value of a constant built from numbers, oo, zoo, nan and + - * / ^, or None."""
    try:
        return _value(node)
    except _Unknown:
        return None


def to_complex(value: Fraction | Float) -> complex:
    """`complex(value.evalf(30))` of the SymPy number: rounded to 30 digits (103 bits), then to
    15 (53 bits) as complex() evaluates again, then to a Python float."""
    if isinstance(value, Float):
        mpf = value.mpf
    else:
        if value == 0:
            return 0j
        # evalf works with 4 guard bits, truncating (mpmath's fast rounding)
        mpf = libmp.from_rational(value.numerator, value.denominator, _EVALF_PREC + 4)
    if mpf == libmp.fzero:
        return 0j
    mpf = libmp.mpf_pos(libmp.mpf_pos(mpf, _EVALF_PREC, _NEAREST), _FLOAT_PREC, _NEAREST)
    return complex(libmp.to_float(mpf))


# ------------------------------------------------------------------------------- the tree

def _value(node: ast.Node) -> Value:
    node = ast.strip_groups(node)
    if isinstance(node, ast.Number):
        if not node.is_decimal:
            return _rational(node.value)
        # The builder's sp.Float(text, max(15, len(text))), rounded to nearest as SymPy does;
        # a literal zero stays a Float zero (sp.Float keeps it), unlike a computed one.
        prec = libmp.dps_to_prec(max(15, len(node.text)))
        value = node.value
        mpf = libmp.from_rational(value.numerator, value.denominator, prec, _NEAREST)
        return _checked(Float(mpf, prec))
    if isinstance(node, ast.Constant):
        if node.name not in _CONSTANTS:
            raise _Unknown  # pi, E, I...: not numbers SymPy adds up eagerly
        return _CONSTANTS[node.name]
    if isinstance(node, ast.Unary):
        inner = _value(node.operand)
        return _negate(inner) if node.op == "-" else inner
    if isinstance(node, ast.Binary):
        left, right = _value(node.left), _value(node.right)
        if node.op == "+":
            return _add(left, right)
        if node.op == "-":
            return _add(left, _negate(right))
        if node.op == "*":
            return _multiply(left, right)
        if node.op == "/":  # the builder's left * Pow(right, -1)
            return _multiply(left, _reciprocal(right))
        if node.op == "^":
            return _power(left, right)
    raise _Unknown  # names, calls, lists


def _rational(value: Fraction) -> Fraction:
    if max(value.numerator.bit_length(), value.denominator.bit_length()) > MAX_BITS:
        raise _Unknown
    return value


def _checked(value: Float) -> Float:
    """A huge or tiny Float is left to SymPy (its builder refuses some, and none are worth a
    fast path)."""
    _, man, exp, bc = value.mpf
    if not man:
        if value.mpf != libmp.fzero:
            raise _Unknown  # an mpf inf or nan: SymPy's oo and nan, not met by these rules
        return value
    if abs(exp + bc) > MAX_BITS:
        raise _Unknown
    return value


def _float_result(mpf: tuple[Any, ...], prec: int) -> Value:
    """SymPy's Float._new: a computed zero is the Integer 0, mpmath's inf and nan are oo and nan."""
    if mpf == libmp.fzero:
        return Fraction(0)  # Float._new(fzero) is S.Zero
    if mpf == libmp.fnan:
        return NAN
    if mpf == libmp.finf:
        return OO
    if mpf == libmp.fninf:
        return NEG_OO
    return _checked(Float(mpf, prec))


def _as_float_operand(value: Fraction | Float, prec: int) -> tuple[tuple[Any, ...], int]:
    """Float.__add__ and friends: the other operand at the larger precision (a Rational is
    rounded to the Float's precision first)."""
    if isinstance(value, Float):
        return value.mpf, max(prec, value.prec)
    return libmp.from_rational(value.numerator, value.denominator, prec, _NEAREST), prec


def _is_zero(value: Value) -> bool:
    return (isinstance(value, Fraction) and value == 0) or (
        isinstance(value, Float) and value.is_zero)


def _sign(value: Fraction | Float) -> int:
    if isinstance(value, Float):
        return 0 if value.is_zero else (-1 if value.negative else 1)
    return (value > 0) - (value < 0)


# ------------------------------------------------------------------------------ operations

def _negate(value: Value) -> Value:
    if isinstance(value, Special):
        return {OO: NEG_OO, NEG_OO: OO}.get(value, value)  # -zoo is zoo, -nan is nan
    if isinstance(value, Float):
        return value if value.is_zero else Float(libmp.mpf_neg(value.mpf), value.prec)
    return -value


def _add(a: Value, b: Value) -> Value:
    if a is NAN or b is NAN:
        return NAN
    if a is ZOO or b is ZOO:  # Add.flatten: zoo plus anything infinite is nan
        other = b if a is ZOO else a
        return NAN if isinstance(other, Special) else ZOO
    if isinstance(a, Special) or isinstance(b, Special):
        if isinstance(a, Special) and isinstance(b, Special) and a is not b:
            return NAN  # oo - oo
        return a if isinstance(a, Special) else b
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return _rational(a + b)
    x, y = (a, b) if isinstance(a, Float) else (b, a)  # a Rational plus a Float is Float + it
    assert isinstance(x, Float)
    rhs, prec = _as_float_operand(y, x.prec)
    return _float_result(libmp.mpf_add(x.mpf, rhs, prec, _NEAREST), prec)


def _multiply(a: Value, b: Value) -> Value:
    if a is NAN or b is NAN:
        return NAN
    if a is ZOO or b is ZOO:  # Mul.flatten: 0*zoo is nan, any other number keeps zoo
        other = b if a is ZOO else a
        return NAN if _is_zero(other) else ZOO
    if isinstance(a, Special) or isinstance(b, Special):
        # oo times a number: nan for zero, else oo with the sign of the product
        sign = 1
        for value in (a, b):
            if value is NEG_OO:
                sign = -sign
            elif not isinstance(value, Special):
                if _is_zero(value):
                    return NAN
                sign *= _sign(value)
        return OO if sign > 0 else NEG_OO
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return _rational(a * b)
    x, y = (a, b) if isinstance(a, Float) else (b, a)
    assert isinstance(x, Float)
    rhs, prec = _as_float_operand(y, x.prec)
    return _float_result(libmp.mpf_mul(x.mpf, rhs, prec, _NEAREST), prec)


def _reciprocal(value: Value) -> Value:
    """Pow(value, -1)."""
    if value is NAN:
        return NAN
    if isinstance(value, Special):
        return Fraction(0)  # 1/oo, 1/-oo and 1/zoo are 0
    if _is_zero(value):
        return ZOO
    return _integer_power(value, -1)


def _integer_power(base: Fraction | Float, n: int) -> Value:
    """A nonzero number to a nonzero integer power, as Rational and Float._eval_power do."""
    if isinstance(base, Fraction):
        if abs(n) > MAX_EXPONENT or abs(n) * max(
                base.numerator.bit_length(), base.denominator.bit_length()) > MAX_BITS:
            raise _Unknown
        return _rational(base**n)
    _, _, exp, bc = base.mpf
    if abs(n) > MAX_EXPONENT or abs(n) * (abs(exp + bc) + 1) > MAX_BITS:
        raise _Unknown
    # Pow takes the sign out of a negative base first: (-b)^n is b^n or -(b^n).
    magnitude = libmp.mpf_abs(base.mpf)
    result = _float_result(libmp.mpf_pow_int(magnitude, n, base.prec, _NEAREST), base.prec)
    return _negate(result) if base.negative and n % 2 else result


def _power(base: Value, exponent: Value) -> Value:
    """Pow(base, exponent) for the cases Pow.__new__ and the numbers' _eval_power settle
    plainly; anything else (a Float exponent, a root of a number...) is unknown."""
    if exponent is ZOO:
        return NAN
    if exponent is OO:
        return _power_oo(base)
    if isinstance(exponent, Fraction) and exponent == 0:
        return Fraction(1)  # x^0 is 1 for every x, nan and zoo included
    if exponent is NAN or base is NAN:
        return NAN
    if exponent is NEG_OO:
        return _power_neg_oo(base)
    if not isinstance(exponent, Fraction):
        raise _Unknown  # a Float exponent
    if exponent.denominator != 1:
        # Roots: only of 0, 1 and the infinities, whose _eval_power goes by the exponent's
        # sign; roots of other numbers are irrational or complex.
        if _is_zero(base):
            return base if exponent > 0 else ZOO
        if isinstance(base, Fraction) and base == 1:
            return base
        if base is OO or base is ZOO:
            return base if exponent > 0 else Fraction(0)
        if base is NEG_OO and exponent < 0:
            return Fraction(0)
        raise _Unknown
    n = exponent.numerator
    if isinstance(base, Special):
        if n < 0:
            return Fraction(0)
        if base is NEG_OO:
            return NEG_OO if n % 2 else OO
        return base
    if _is_zero(base):
        if n < 0:
            return ZOO
        return base  # 0^n is 0, and a Float zero stays a Float zero
    if n == 1:
        return base
    return _integer_power(base, n)


def _power_oo(base: Value) -> Value:
    """base^oo, from Pow.__new__: the base compared with 1 and -1."""
    if base is OO:
        return OO
    if isinstance(base, Fraction):
        if abs(base) == 1:
            return NAN
        if base > 1:
            return OO
        return Fraction(0) if base > -1 else ZOO
    if base is NEG_OO or base is NAN:
        return NAN
    raise _Unknown  # Float bases, zoo


def _power_neg_oo(base: Value) -> Value:
    """base^-oo, from the bases' _eval_power (Pow.__new__ has no rule of its own for it)."""
    if base is OO:
        return Fraction(0)
    if base is NEG_OO:
        return NAN
    if isinstance(base, Fraction) and base >= 0:
        if base == 0:
            return ZOO
        if base == 1:
            return NAN
        return Fraction(0) if base > 1 else OO
    raise _Unknown  # negative bases differ between Integer and Rational; Floats, zoo
