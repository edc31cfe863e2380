"""Evaluating expression trees: vectorised numpy, exact rationals, and high-precision mpmath.

Each backend has a kit: an implementation for every function of the language table, keyed by the
table's names (tests check that every kit covers the whole table). The numpy backend compiles a tree
once into closures over complex arrays; the exact backend computes with `Fraction` and gives up
(`NotExact`) as soon as a value leaves the rationals; the mpmath backend evaluates at any precision
and records the magnitudes it met, so callers can choose a precision that survives cancellation.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np

from ..language import ast
from ..language.table import FUNCTIONS

__all__ = [
    "EXACT_KIT",
    "MPMATH_KIT",
    "NUMPY_KIT",
    "RATIONAL_FUNCTIONS",
    "NotExact",
    "Undefined",
    "compile_numpy",
    "compile_numpy_scaled",
    "evaluate_exact",
    "integer_exponent",
    "integer_literal",
    "evaluate_mpmath",
]

Array = np.ndarray
NumpyFn = Callable[[Array], tuple[Array, Array]]
ValueFn = Callable[[Array], Array]


# The four operations, shared by the exact and the mpmath evaluators (^ differs: see each).
ARITHMETIC: Mapping[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
}


class NotExact(Exception):
    """The value left the rationals (or grew too large): use another backend."""


class Undefined(Exception):
    """Division by zero or a similar point where the expression has no value."""


# ----------------------------------------------------------------------------------- numpy kit

_NAN = complex("nan")


def _real_args(*args: Array) -> tuple[list[Array], Array]:
    """Real parts, and a mask of points where every argument is (numerically) real."""
    ok = np.ones(np.broadcast(*args).shape, dtype=bool)
    reals = []
    for a in args:
        ok &= np.abs(a.imag) <= 1e-12 * np.maximum(np.abs(a.real), 1.0)
        reals.append(a.real)
    return reals, ok


def _real_only(f: Callable[..., Array]) -> Callable[..., Array]:
    def wrapped(*args: Array) -> Array:
        reals, ok = _real_args(*args)
        out = np.asarray(f(*reals), dtype=complex)
        return np.where(ok, out, _NAN)

    return wrapped


def _np_mod(a: Array, b: Array) -> Array:
    return np.where(b == 0, np.nan, np.mod(a, np.where(b == 0, 1.0, b)))


def _np_int_fold(op: Callable[[Any, Any], Any]) -> Callable[..., Array]:
    def fold(*args: Array) -> Array:
        ints = [np.round(a) for a in args]
        ok = np.ones(ints[0].shape, dtype=bool)
        for a, r in zip(args, ints, strict=True):
            ok &= (np.abs(a - r) < 1e-9) & (np.abs(r) < 2**52)
        safe = [np.where(ok, r, 1).astype(np.int64) for r in ints]
        result = safe[0]
        for value in safe[1:]:
            result = op(result, value)
        return np.where(ok, result.astype(float), np.nan)

    return fold


def _binomial_scalar(n: float, k: float) -> float:
    if not (math.isfinite(n) and math.isfinite(k)):
        return math.nan  # binomial(ln(0), 2): round() of inf would raise
    if k == round(k):
        k_int = int(round(k))
        if k_int < 0:
            return 0.0
        if n == round(n) and n >= 0 and abs(n) < 10**6:
            n_int = int(round(n))
            if k_int > n_int:
                return 0.0
            # Past a float's range the value is inf, as numpy's own overflows are (the checker
            # settles those with mpmath); lgamma says so without building a huge integer.
            log_value = (math.lgamma(n_int + 1) - math.lgamma(k_int + 1)
                         - math.lgamma(n_int - k_int + 1))
            if log_value > 710:
                return math.inf
            try:
                return float(math.comb(n_int, k_int))
            except OverflowError:
                return math.inf
        if k_int <= 200:
            value = 1.0
            for i in range(k_int):
                value *= (n - i) / (i + 1)
            return value
    try:
        return math.gamma(n + 1) / (math.gamma(k + 1) * math.gamma(n - k + 1))
    except (ValueError, OverflowError, ZeroDivisionError):
        return math.nan


_np_binomial = np.frompyfunc(_binomial_scalar, 2, 1)
_np_erf = np.frompyfunc(math.erf, 1, 1)


# Branch cuts: numpy picks the side of a cut from the sign of a zero component, which depends on
# how the value was computed (-(2+0j) is -2-0j). On a cut, these set the side SymPy and mpmath
# use, so the three backends agree on principal values.

def _cut_negative_real(z: Array) -> Array:
    """sqrt, ln, powers, arg, acosh: a real argument is taken from above the cut.

    Where the imaginary part is zero, z + 0.0 is (re + 0.0, +0.0), what z.real + 0j is; elsewhere
    z stays as it is. One masked addition into a copy: np.where over the two arrays cost a fifth
    more, and every integer power of every evaluation comes here.
    """
    out = np.array(z, dtype=complex, copy=True)
    return np.add(out, 0.0, out=out, where=out.imag == 0)


def _cut_real_outside_unit(z: Array) -> Array:
    """asin, acos, atanh: real x > 1 from below the cut, x < -1 from above (as mpmath)."""
    out = np.array(z, dtype=complex, copy=True)
    on_cut = out.imag == 0
    out.imag[on_cut] = np.where(out.real[on_cut] > 1, -0.0, 0.0)
    return out


def _cut_imaginary_outside_unit(z: Array) -> Array:
    """asinh, atan: imaginary y*i with y > 1 from the right of the cut, y < -1 from the left."""
    out = np.array(z, dtype=complex, copy=True)
    on_cut = out.real == 0
    out.real[on_cut] = np.where(out.imag[on_cut] < -1, -0.0, 0.0)
    return out


def _np_power(a: Array, b: Array) -> Array:
    return np.power(_cut_negative_real(a), b)


def _np_sign(z: Array) -> Array:
    magnitude = np.abs(z)
    return np.where(magnitude == 0, 0.0, z / np.where(magnitude == 0, 1.0, magnitude))


def _reduce(f: Callable[[Array, Array], Array]) -> Callable[..., Array]:
    def reduce(*args: Array) -> Array:
        result = args[0]
        for value in args[1:]:
            result = f(result, value)
        return result

    return reduce


NUMPY_KIT: Mapping[str, Callable[..., Array]] = {
    "abs": lambda a: np.abs(a).astype(complex),
    "max": _real_only(_reduce(np.maximum)),
    "min": _real_only(_reduce(np.minimum)),
    "mod": _real_only(_np_mod),
    "ceiling": _real_only(np.ceil),
    "floor": _real_only(np.floor),
    "gcd": _real_only(_np_int_fold(np.gcd)),
    "lcm": _real_only(_np_int_fold(np.lcm)),
    "sign": _np_sign,
    "exp": np.exp,
    "ln": lambda a: np.log(_cut_negative_real(a)),
    "log": lambda a: np.log(_cut_negative_real(a)) / math.log(10),
    "root": lambda a, n: _np_power(a, 1.0 / n),
    "sqrt": lambda a: np.sqrt(_cut_negative_real(a)),
    "cos": np.cos,
    "cosh": np.cosh,
    "cot": lambda a: 1.0 / np.tan(a),
    "coth": lambda a: 1.0 / np.tanh(a),
    "sin": np.sin,
    "sinh": np.sinh,
    "tan": np.tan,
    "tanh": np.tanh,
    "acos": lambda a: np.arccos(_cut_real_outside_unit(a)),
    "acosh": lambda a: np.arccosh(_cut_negative_real(a)),
    "acot": lambda a: np.arctan(_cut_imaginary_outside_unit(1.0 / a)),
    "acoth": lambda a: np.arctanh(_cut_real_outside_unit(1.0 / a)),
    "asin": lambda a: np.arcsin(_cut_real_outside_unit(a)),
    "asinh": lambda a: np.arcsinh(_cut_imaginary_outside_unit(a)),
    "atan": lambda a: np.arctan(_cut_imaginary_outside_unit(a)),
    "atan2": _real_only(np.arctan2),
    "atanh": lambda a: np.arctanh(_cut_real_outside_unit(a)),
    "deg": lambda a: a * (180.0 / math.pi),
    "rad": lambda a: a * (math.pi / 180.0),
    "arg": lambda a: np.angle(_cut_negative_real(a)).astype(complex),
    "conjugate": np.conj,
    "im": lambda a: a.imag.astype(complex),
    "re": lambda a: a.real.astype(complex),
    "erf": _real_only(lambda a: np.asarray(_np_erf(a), dtype=float)),
    "binomial": _real_only(lambda n, k: np.asarray(_np_binomial(n, k), dtype=float)),
}

NUMPY_CONSTANTS: Mapping[str, complex] = {
    "Catalan": complex(0.915965594177219015),
    "E": complex(math.e),
    "EulerGamma": complex(0.577215664901532861),
    "GoldenRatio": complex((1 + math.sqrt(5)) / 2),
    "I": 1j,
    "J": 1j,
    "nan": complex(math.nan, 0.0),
    "oo": complex(math.inf, 0.0),
    "pi": complex(math.pi),
    "zoo": complex(math.inf, math.nan),
}


def compile_numpy(node: ast.Node, names: Mapping[str, int]) -> ValueFn:
    """Compile a tree into a function of the sample matrix X (variables x points, complex) that
    returns the values at those points.

    Answers and rewrites only need values; the noise scale (`compile_numpy_scaled`) is worked
    out for references, once per reference, and would triple the cost of every answer.
    """
    return _compile_value(node, names)


def compile_numpy_scaled(node: ast.Node, names: Mapping[str, int]) -> NumpyFn:
    """Like `compile_numpy`, and also a per-point noise scale: the largest magnitude among the
    operands of + and - and the arguments of functions. Rounding error is proportional to it,
    so the absolute tolerance floor near zero is scaled by it.
    """
    return _compile(node, names)


def _zeros_like_points(x: Array) -> Array:
    return np.zeros(x.shape[1], dtype=float)


def _number(node: ast.Number) -> complex:
    value = node.value
    try:
        # float(value), without its trip through numbers.Rational.__float__: the same
        # correctly rounded integer division.
        return complex(value.numerator / value.denominator)
    except OverflowError:  # 1e400: inf, as any overflow here, which mpmath then settles
        return complex(math.inf)


def _compile(node: ast.Node, names: Mapping[str, int]) -> NumpyFn:
    return _compile_parts(node, names)[0]


# A subtree without sums, differences or calls has a noise scale of zeros at every point (the
# maximum of its leaves' zeros): its values come from the values-only closures, and its parent
# takes the other operand's scale as it is, instead of arrays of zeros and their maxima. Sums and
# calls, where the scale is made, are compiled as before; `_compile_parts` gives a subtree's
# scaled closure and, for a subtree without scale, its values-only one.
_Parts = tuple[NumpyFn, ValueFn | None]


def _unscaled(plain: ValueFn) -> NumpyFn:
    return lambda x: (plain(x), _zeros_like_points(x))


def _compile_parts(node: ast.Node, names: Mapping[str, int]) -> _Parts:
    kind = type(node)
    while kind is ast.Group:
        node = node.inner  # type: ignore[attr-defined]
        kind = type(node)
    if kind is ast.Number or kind is ast.Constant or kind is ast.Name:
        plain = _compile_value(node, names)
        return _unscaled(plain), plain
    if kind is ast.Unary:
        inner, inner_plain = _compile_parts(node.operand, names)  # type: ignore[attr-defined]
        if node.op == "+":  # type: ignore[attr-defined]
            return inner, inner_plain
        if inner_plain is not None:
            plain = lambda x: -inner_plain(x)  # noqa: E731
            return _unscaled(plain), plain

        def negate(x: Array) -> tuple[Array, Array]:
            value, scale = inner(x)
            return -value, scale

        return negate, None
    if kind is ast.Binary:
        return _compile_binary(node, names)  # type: ignore[arg-type]
    if kind is ast.Call:
        return _compile_call(node, names), None  # type: ignore[arg-type]
    raise TypeError(f"cannot evaluate {kind.__name__}")  # Sequence only inside gcd/lcm


def _compile_binary(node: ast.Binary, names: Mapping[str, int]) -> _Parts:
    left, left_plain = _compile_parts(node.left, names)
    op = node.op
    exponent = integer_literal(node.right) if op == "^" else None
    if exponent is not None:
        # Integer powers by repeated multiplication: exact signs for negative bases.
        if left_plain is not None:
            plain = lambda x: _cut_negative_real(left_plain(x)) ** exponent  # noqa: E731
            return _unscaled(plain), plain

        def int_power(x: Array) -> tuple[Array, Array]:
            value, scale = left(x)
            return _cut_negative_real(value) ** exponent, scale

        return int_power, None
    right, right_plain = _compile_parts(node.right, names)
    if op != "+" and op != "-" and left_plain is not None and right_plain is not None:
        operator = _NP_OPERATORS[op]  # a * b is np.multiply(a, b), and so on
        plain = lambda x: operator(left_plain(x), right_plain(x))  # noqa: E731
        return _unscaled(plain), plain

    def binary(x: Array) -> tuple[Array, Array]:
        # The maximum of the operands' scales; zeros (a subtree without scale) change nothing.
        if left_plain is not None:
            a = left_plain(x)
            b, scale = right(x)
        elif right_plain is not None:
            a, scale = left(x)
            b = right_plain(x)
        else:
            a, sa = left(x)
            b, sb = right(x)
            scale = np.maximum(sa, sb)
        if op == "+":
            return a + b, np.maximum(scale, np.maximum(np.abs(a), np.abs(b)))
        if op == "-":
            return a - b, np.maximum(scale, np.maximum(np.abs(a), np.abs(b)))
        if op == "*":
            return a * b, scale
        if op == "/":
            return a / b, scale
        return _np_power(a, b), scale

    if left_plain is not None and right_plain is not None:  # a sum or difference of two
        def sum_of_plain(x: Array) -> tuple[Array, Array]:
            a, b = left_plain(x), right_plain(x)
            return (a + b if op == "+" else a - b), np.maximum(np.abs(a), np.abs(b))

        return sum_of_plain, None
    return binary, None


def _compile_call(node: ast.Call, names: Mapping[str, int]) -> NumpyFn:
    compiled = [_compile_parts(a, names) for a in _call_args(node)]
    impl = NUMPY_KIT[node.name]

    def call(x: Array) -> tuple[Array, Array]:
        # The largest of the arguments' scales and magnitudes (zeros add nothing to it).
        values, scale = [], None
        for fn, plain in compiled:
            if plain is not None:
                value = plain(x)
                largest = np.abs(value)
            else:
                value, s = fn(x)
                largest = np.maximum(s, np.abs(value))
            values.append(value)
            scale = largest if scale is None else np.maximum(scale, largest)
        if scale is None:
            scale = _zeros_like_points(x)
        return np.asarray(impl(*values), dtype=complex), scale

    return call


def _call_args(node: ast.Call) -> tuple[ast.Node, ...]:
    args = node.args
    if len(args) == 1 and isinstance(args[0], ast.Sequence):
        return args[0].items  # gcd((a, b, c))
    return args


_NP_OPERATORS: Mapping[str, Callable[[Array, Array], Array]] = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide, "^": _np_power,
}


def _compile_value(node: ast.Node, names: Mapping[str, int]) -> ValueFn:
    """Values only: one numpy operation per node, chosen when compiling."""
    kind = type(node)  # the exact type, commonest first
    while kind is ast.Group:
        node = node.inner  # type: ignore[attr-defined]
        kind = type(node)
    if kind is ast.Binary:
        left = _compile_value(node.left, names)  # type: ignore[attr-defined]
        exponent = (integer_literal(node.right)  # type: ignore[attr-defined]
                    if node.op == "^" else None)  # type: ignore[attr-defined]
        if exponent is not None:  # as in _compile_binary
            return lambda x: _cut_negative_real(left(x)) ** exponent
        right = _compile_value(node.right, names)  # type: ignore[attr-defined]
        op = _NP_OPERATORS[node.op]  # type: ignore[attr-defined]
        return lambda x: op(left(x), right(x))
    if kind is ast.Name:
        index = names[node.name]  # type: ignore[attr-defined]
        return lambda x: x[index]
    if kind is ast.Number or kind is ast.Constant:
        value = (_number(node) if kind is ast.Number  # type: ignore[arg-type]
                 else NUMPY_CONSTANTS[node.name])  # type: ignore[attr-defined]
        return lambda x: _filled(x.shape[1], value)
    if kind is ast.Unary:
        inner = _compile_value(node.operand, names)  # type: ignore[attr-defined]
        return inner if node.op == "+" else lambda x: -inner(x)  # type: ignore[attr-defined]
    if kind is ast.Call:
        impl = NUMPY_KIT[node.name]  # type: ignore[attr-defined]
        args = [_compile_value(a, names) for a in _call_args(node)]  # type: ignore[arg-type]
        if len(args) == 1:
            only = args[0]
            return lambda x: np.asarray(impl(only(x)), dtype=complex)
        return lambda x: np.asarray(impl(*[fn(x) for fn in args]), dtype=complex)
    raise TypeError(f"cannot evaluate {kind.__name__}")


def _filled(size: int, value: complex) -> Array:
    """`np.full(size, value, dtype=complex)` without its Python-level overhead."""
    out = np.empty(size, dtype=complex)
    out.fill(value)
    return out


def integer_literal(node: ast.Node) -> int | None:
    """The value of an integer literal of at most 10,000 in size (signs and brackets allowed:
    -(3)), or None."""
    sign = 1
    kind = type(node)  # brackets and signs in any order, by exact type (compiling asks often)
    while kind is ast.Group or kind is ast.Unary:
        if kind is ast.Group:
            node = node.inner  # type: ignore[attr-defined]
        else:
            if node.op == "-":  # type: ignore[attr-defined]
                sign = -sign
            node = node.operand  # type: ignore[attr-defined]
        kind = type(node)
    if kind is ast.Number and not node.is_decimal:  # type: ignore[attr-defined]
        value = node.value  # type: ignore[attr-defined]
        if value.denominator == 1 and abs(value.numerator) <= 10_000:
            return sign * value.numerator
    return None


# ----------------------------------------------------------------------------------- exact kit

_MAX_EXACT_BITS = 400_000


def _as_int(value: Fraction) -> int:
    if value.denominator != 1:
        raise NotExact
    return value.numerator


def _exact_mod(a: Fraction, b: Fraction) -> Fraction:
    if b == 0:
        raise Undefined
    return a - b * math.floor(a / b)


def _exact_sign(a: Fraction) -> Fraction:
    return Fraction((a > 0) - (a < 0))


def _exact_binomial(n: Fraction, k: Fraction) -> Fraction:
    n_int, k_int = _as_int(n), _as_int(k)
    if k_int < 0:
        return Fraction(0)
    if k_int > 10_000:
        raise NotExact
    if n_int >= 0:
        return Fraction(math.comb(n_int, k_int))
    value = Fraction(1)
    for i in range(k_int):
        value = value * (n_int - i) / (i + 1)
    return value


def _exact_fold(op: Callable[[int, int], int]) -> Callable[..., Fraction]:
    def fold(*args: Fraction) -> Fraction:
        ints = [_as_int(a) for a in args]
        result = ints[0]
        for value in ints[1:]:
            result = op(result, value)
        return Fraction(result)

    return fold


def _not_exact(*_: Fraction) -> Fraction:
    raise NotExact


EXACT_KIT: Mapping[str, Callable[..., Fraction]] = {
    name: _not_exact for name in FUNCTIONS
} | {
    "abs": abs,
    "max": max,
    "min": min,
    "mod": _exact_mod,
    "ceiling": lambda a: Fraction(math.ceil(a)),
    "floor": lambda a: Fraction(math.floor(a)),
    "gcd": _exact_fold(math.gcd),
    "lcm": _exact_fold(math.lcm),
    "sign": _exact_sign,
    "binomial": _exact_binomial,
    "re": lambda a: a,
    "im": lambda a: Fraction(0),
    "conjugate": lambda a: a,
}


def evaluate_exact(node: ast.Node, values: Mapping[str, Fraction]) -> Fraction:
    """The exact rational value of `node`, or `NotExact` / `Undefined`."""
    return _fraction(*_exact(node, values))


def _fraction(numerator: int, denominator: int) -> Fraction:
    """The Fraction of a pair already in lowest terms, as Fraction's own operators make theirs
    (`_normalize` is not in the type stubs)."""
    return Fraction(numerator, denominator, _normalize=False)  # type: ignore[call-overload]


# A rational as (numerator, denominator) in lowest terms, denominator > 0: what a `Fraction` holds,
# without an object per operation. `Fraction`'s operators are Python code that builds a new
# object through `Fraction.__new__` each time, several times the cost of the integer arithmetic
# itself; the exact evaluator runs for every node of every answer compared exactly, at every
# point. The results are the same numbers in the same lowest terms, so the size test
# (`_MAX_EXACT_BITS`) and every exception are the same as with `Fraction`.
_Pair = tuple[int, int]


def _exact(node: ast.Node, values: Mapping[str, Fraction]) -> _Pair:
    # Dispatch on the exact type, commonest first.
    kind = type(node)
    while kind is ast.Group:
        node = node.inner  # type: ignore[attr-defined]
        kind = type(node)
    if kind is ast.Binary:
        op = node.op  # type: ignore[attr-defined]
        na, da = _exact(node.left, values)  # type: ignore[attr-defined]
        if op == "^":
            return _exact_power_pair(na, da, *_exact(node.right, values))  # type: ignore[attr-defined]
        nb, db = _exact(node.right, values)  # type: ignore[attr-defined]
        # Fraction's own _mul, _add, _sub and _div (Python 3.11), on the pairs.
        if op == "*":
            g1 = math.gcd(na, db)
            if g1 > 1:
                na //= g1
                db //= g1
            g2 = math.gcd(nb, da)
            if g2 > 1:
                nb //= g2
                da //= g2
            n, d = na * nb, db * da
        elif op == "+" or op == "-":
            if op == "-":
                nb = -nb
            g = math.gcd(da, db)
            if g == 1:
                n, d = na * db + da * nb, da * db
            else:
                s = da // g
                t = na * (db // g) + nb * s
                g2 = math.gcd(t, g)
                if g2 == 1:
                    n, d = t, s * db
                else:
                    n, d = t // g2, s * (db // g2)
        else:
            if nb == 0:
                raise Undefined
            g1 = math.gcd(na, nb)
            if g1 > 1:
                na //= g1
                nb //= g1
            g2 = math.gcd(db, da)
            if g2 > 1:
                da //= g2
                db //= g2
            n, d = na * db, nb * da
            if d < 0:
                n, d = -n, -d
        if n.bit_length() + d.bit_length() > _MAX_EXACT_BITS:
            raise NotExact
        return n, d
    if kind is ast.Number:
        if node.is_decimal:  # type: ignore[attr-defined]
            raise NotExact
        value = node.value  # type: ignore[attr-defined]
        return value.numerator, value.denominator
    if kind is ast.Name:
        value = values[node.name]  # type: ignore[attr-defined]
        return value.numerator, value.denominator
    if kind is ast.Unary:
        n, d = _exact(node.operand, values)  # type: ignore[attr-defined]
        return (-n, d) if node.op == "-" else (n, d)  # type: ignore[attr-defined]
    if kind is ast.Call:
        args = node.args  # type: ignore[attr-defined]
        if len(args) == 1 and type(args[0]) is ast.Sequence:
            args = args[0].items
        fractions = [_fraction(*_exact(a, values)) for a in args]
        result = EXACT_KIT[node.name](*fractions)  # type: ignore[attr-defined]
        return result.numerator, result.denominator
    raise NotExact  # constants, and a list outside gcd/lcm


def _exact_power_pair(n: int, d: int, exponent_n: int, exponent_d: int) -> _Pair:
    """`_exact_power` on pairs: the same tests, and Fraction's `__pow__` for the value."""
    if exponent_d != 1:
        raise NotExact
    power = exponent_n
    if n == 0:
        if power < 0:
            raise Undefined
        return (1, 1) if power == 0 else (0, 1)
    if (abs(n).bit_length() + d.bit_length()) * abs(power) > _MAX_EXACT_BITS:
        raise NotExact
    if power >= 0:
        return n**power, d**power
    if n >= 0:
        return d**-power, n**-power
    return (-d) ** -power, (-n) ** -power


def _exact_power(base: Fraction, exponent: Fraction) -> Fraction:
    if exponent.denominator != 1:
        raise NotExact
    n = exponent.numerator
    if base == 0:
        if n < 0:
            raise Undefined
        return Fraction(1) if n == 0 else Fraction(0)
    bits = (abs(base.numerator).bit_length() + base.denominator.bit_length()) * abs(n)
    if bits > _MAX_EXACT_BITS:
        raise NotExact
    return base**n


RATIONAL_FUNCTIONS = frozenset(name for name, impl in EXACT_KIT.items() if impl is not _not_exact)


def integer_exponent(node: ast.Node) -> bool:
    """Whether an exponent keeps a power rational: an integer literal, or a constant with an
    integer value (10^3, 6/2)."""
    return integer_literal(node) is not None or _constant_integer(node)


def _constant_integer(node: ast.Node) -> bool:
    """A constant exponent with an integer value, such as 10^3 or 6/2."""
    if any(isinstance(child, ast.Name) for child in ast.walk(node)):
        return False
    try:
        return evaluate_exact(node, {}).denominator == 1
    except (NotExact, Undefined):
        return False


# ---------------------------------------------------------------------------------- mpmath kit

def _mp_real(f: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*args: Any) -> Any:
        reals = []
        for a in args:
            if isinstance(a, mpmath.mpc):
                if a.imag != 0:
                    return mpmath.mpf("nan")
                a = a.real
            reals.append(a)
        return f(*reals)

    return wrapped


def _mp_int(a: Any) -> int:
    if not mpmath.isint(a):
        raise ValueError("not an integer")
    return int(a)


def _mp_fold(op: Callable[[int, int], int]) -> Callable[..., Any]:
    def fold(*args: Any) -> Any:
        try:
            ints = [_mp_int(a) for a in args]
        except ValueError:
            return mpmath.mpf("nan")
        result = ints[0]
        for value in ints[1:]:
            result = op(result, value)
        return mpmath.mpf(result)

    return fold


def _mp_mod(a: Any, b: Any) -> Any:
    if b == 0:
        return mpmath.mpf("nan")
    return a - b * mpmath.floor(a / b)


def _mp_max(*args: Any) -> Any:
    return max(args)


def _mp_min(*args: Any) -> Any:
    return min(args)


MPMATH_KIT: Mapping[str, Callable[..., Any]] = {
    "abs": abs,
    "max": _mp_real(_mp_max),
    "min": _mp_real(_mp_min),
    "mod": _mp_real(_mp_mod),
    "ceiling": _mp_real(mpmath.ceil),
    "floor": _mp_real(mpmath.floor),
    "gcd": _mp_real(_mp_fold(math.gcd)),
    "lcm": _mp_real(_mp_fold(math.lcm)),
    "sign": mpmath.sign,
    "exp": mpmath.exp,
    "ln": mpmath.log,
    "log": lambda a: mpmath.log(a) / mpmath.log(10),
    "root": lambda a, n: mpmath.power(a, 1 / n),
    "sqrt": mpmath.sqrt,
    "cos": mpmath.cos,
    "cosh": mpmath.cosh,
    "cot": mpmath.cot,
    "coth": mpmath.coth,
    "sin": mpmath.sin,
    "sinh": mpmath.sinh,
    "tan": mpmath.tan,
    "tanh": mpmath.tanh,
    "acos": mpmath.acos,
    "acosh": mpmath.acosh,
    "acot": mpmath.acot,
    "acoth": mpmath.acoth,
    "asin": mpmath.asin,
    "asinh": mpmath.asinh,
    "atan": mpmath.atan,
    "atan2": _mp_real(mpmath.atan2),
    "atanh": mpmath.atanh,
    "deg": lambda a: a * 180 / mpmath.pi,
    "rad": lambda a: a * mpmath.pi / 180,
    "arg": mpmath.arg,
    "conjugate": mpmath.conj,
    "im": mpmath.im,
    "re": mpmath.re,
    "erf": _mp_real(mpmath.erf),
    "binomial": _mp_real(mpmath.binomial),
}

MPMATH_CONSTANTS: Mapping[str, Callable[[], Any]] = {
    "Catalan": lambda: +mpmath.catalan,
    "E": lambda: +mpmath.e,
    "EulerGamma": lambda: +mpmath.euler,
    "GoldenRatio": lambda: +mpmath.phi,
    "pi": lambda: +mpmath.pi,
    "I": lambda: mpmath.mpc(0, 1),
    "J": lambda: mpmath.mpc(0, 1),
}


class Magnitudes:
    """Magnitudes (in bits) met during an evaluation, to choose a precision.

    `high` is the largest magnitude of any value; `low` the smallest nonzero magnitude of a value
    that is not the result of a sum or a function (literals, powers, products): a tiny term such
    as 10^(-100) must be resolved, while a sum or sin(7*pi) that comes out as rounding noise must
    not drive the precision up without end.
    """

    __slots__ = ("high", "low")

    def __init__(self) -> None:
        self.high = 0
        self.low = 0

    def see(self, value: Any, *, exact_term: bool) -> None:
        """Record a finite value (zero says nothing about magnitudes)."""
        bits = _magnitude(value)
        if bits is None:
            return
        if bits > self.high:
            self.high = bits
        if exact_term and bits < self.low:
            self.low = bits

    @property
    def spread_digits(self) -> int:
        return int((self.high - self.low) * 0.30103) + 1

    @property
    def high_digits(self) -> int:
        return int(self.high * 0.30103) + 1


_FZERO = mpmath.libmp.fzero
_SMALL_MPF_LIMIT = 1024
_SMALL_MPF = [mpmath.mpf(n) for n in range(_SMALL_MPF_LIMIT)]  # immutable, exact


def _is_finite(value: Any) -> bool:
    """`mpmath.isfinite`, read straight off the number's parts for mpf and mpc: a special value
    (inf, nan) is the only kind with a zero mantissa that is not zero itself."""
    parts = getattr(value, "_mpf_", None)
    if parts is not None:
        return bool(parts[1]) or parts == _FZERO
    pair = getattr(value, "_mpc_", None)
    if pair is not None:
        return all(bool(part[1]) or part == _FZERO for part in pair)
    return bool(mpmath.isfinite(value))


def _magnitude(value: Any) -> int | None:
    """`mpmath.mag` of a finite value, None for zero; read off the parts as `mag` does."""
    parts = getattr(value, "_mpf_", None)
    if parts is not None:
        return parts[2] + parts[3] if parts[1] else None
    pair = getattr(value, "_mpc_", None)
    if pair is not None:
        real, imag = pair
        if not real[1]:
            return imag[2] + imag[3] if imag[1] else None
        if not imag[1]:
            return real[2] + real[3]
        return 1 + max(real[2] + real[3], imag[2] + imag[3])
    if value == 0:
        return None
    return int(mpmath.mag(value))


def evaluate_mpmath(
    node: ast.Node, values: Mapping[str, Any], magnitudes: Magnitudes | None = None
) -> Any:
    """Evaluate at the current `mpmath.mp.dps`; raises `Undefined` at poles and `NotExact` for
    values mpmath cannot represent (infinities), so callers fall back to SymPy for those."""
    kind = type(node)  # the exact type, commonest first: this runs for every node
    while kind is ast.Group:
        node = node.inner  # type: ignore[attr-defined]
        kind = type(node)
    result: Any
    exact_term = True  # see Magnitudes: whether the value is a term to resolve
    if kind is ast.Binary:
        op = node.op  # type: ignore[attr-defined]
        a = evaluate_mpmath(node.left, values, magnitudes)  # type: ignore[attr-defined]
        b = evaluate_mpmath(node.right, values, magnitudes)  # type: ignore[attr-defined]
        if op == "^":
            _refuse_huge(b)
        try:
            if op != "^":
                result = ARITHMETIC[op](a, b)
            elif a == 0 and (b.real if isinstance(b, mpmath.mpc) else b) < 0:
                raise Undefined
            else:
                result = mpmath.power(a, b)
        except ZeroDivisionError:
            raise Undefined from None
        exact_term = op not in "+-"
    elif kind is ast.Number:
        value = node.value  # type: ignore[attr-defined]
        numerator, denominator = value.numerator, value.denominator
        # An integer is exactly what mpf(n) / 1 would round it to. Small ones are exact at any
        # working precision of 10 bits or more, so the same mpf serves every evaluation.
        if numerator < _SMALL_MPF_LIMIT and mpmath.mp.prec >= 10:
            result = _SMALL_MPF[numerator]
        else:
            result = mpmath.mpf(numerator)
        if denominator != 1:
            result = result / denominator
    elif kind is ast.Name:
        result = values[node.name]  # type: ignore[attr-defined]
    elif kind is ast.Unary:
        inner = evaluate_mpmath(node.operand, values, magnitudes)  # type: ignore[attr-defined]
        result = -inner if node.op == "-" else inner  # type: ignore[attr-defined]
    elif kind is ast.Call:
        name = node.name  # type: ignore[attr-defined]
        args = node.args  # type: ignore[attr-defined]
        if len(args) == 1 and type(args[0]) is ast.Sequence:
            args = args[0].items
        evaluated_args = [evaluate_mpmath(a, values, magnitudes) for a in args]
        if name in _GROWS_OR_REDUCES:
            _refuse_huge(evaluated_args[0])
        try:
            result = MPMATH_KIT[name](*evaluated_args)
        except (ZeroDivisionError, ValueError):
            raise Undefined from None
    elif kind is ast.Constant:
        if node.name not in MPMATH_CONSTANTS:  # type: ignore[attr-defined]
            raise NotExact
        result = MPMATH_CONSTANTS[node.name]()  # type: ignore[attr-defined]
    else:
        raise NotExact
    parts = getattr(result, "_mpf_", None)
    if parts is not None:
        # A real value, nearly every one: `_is_finite` and `Magnitudes.see` written out on its
        # parts (sign, mantissa, exponent, bit count), as they read them.
        if not parts[1] and parts != _FZERO:
            raise Undefined  # inf or nan: the only values with a zero mantissa but zero
        if magnitudes is not None:
            if kind is ast.Call and node.name in _CAN_CANCEL:  # type: ignore[attr-defined]
                exact_term = _above_noise(result, evaluated_args)
            if parts[1]:
                bits = parts[2] + parts[3]
                if bits > magnitudes.high:
                    magnitudes.high = bits
                if exact_term and bits < magnitudes.low:
                    magnitudes.low = bits
        return result
    pair = getattr(result, "_mpc_", None)
    if pair is not None and pair[1] == _FZERO:
        result = result.real
    if not _is_finite(result):
        raise Undefined
    if magnitudes is not None:
        if kind is ast.Call and node.name in _CAN_CANCEL:  # type: ignore[attr-defined]
            exact_term = _above_noise(result, evaluated_args)
        magnitudes.see(result, exact_term=exact_term)
    return result


# Functions whose cost in mpmath grows with the size of the argument itself, not its precision:
# exp and powers build results with exponents as large as the argument (exp(exp(exp(exp(10))))
# would need an exponent of 10^9565 bits), the trigonometric ones reduce it modulo pi with as
# many bits as it has. Past MAX_ARGUMENT_BITS such a value is beyond anything the checker can
# compare (it has already overflowed floats by far): NotExact, rather than minutes of work or a
# MemoryError.
_GROWS_OR_REDUCES = frozenset({"exp", "sinh", "cosh", "tanh", "coth", "sin", "cos", "tan", "cot"})
MAX_ARGUMENT_BITS = 1 << 14  # |argument| < 2^16384, about 10^4932


def _refuse_huge(value: Any) -> None:
    bits = _magnitude(value)
    if bits is not None and bits > MAX_ARGUMENT_BITS:
        raise NotExact


# Functions with zeros at irrational points (sin(7*pi), ln(1), acos(1)...): a tiny result may be
# rounding noise of the argument, so it only counts as a term to resolve when it is well above
# the argument's rounding error. Other functions (exp, sqrt, atan...) keep relative precision.
_CAN_CANCEL = frozenset({"sin", "cos", "tan", "cot", "ln", "log", "acos", "acosh", "acot",
                         "acoth", "mod", "re", "im", "arg", "atan2", "root"})


def _exact_term(node: ast.Node, result: Any, args: list[Any]) -> bool:
    if isinstance(node, ast.Binary):
        return node.op not in "+-"
    if not isinstance(node, ast.Call):
        return True
    if node.name not in _CAN_CANCEL:
        return True
    return _above_noise(result, args)


def _above_noise(result: Any, args: list[Any]) -> bool:
    """Whether |result| > max |arg| * 10^(20 - dps): the value of a function that can cancel
    is a term to resolve, not rounding noise of its arguments.

    Most values are far from the line, which their magnitudes (2^(m-2) <= |x| <= 2^m, mpc
    included) show without the multiplication; values near it are compared exactly.
    """
    dps = mpmath.mp.dps
    low = _magnitude(result)
    if low is None:
        return False  # 0 is never above anything: the product is at least 0
    high = None  # the magnitude of the largest argument; None while all are zero
    for a in args:
        bits = _magnitude(a)
        if bits is not None and (high is None or bits > high):
            high = bits
    if high is None:
        return True  # largest is 0, the result is not
    line = high + _noise_magnitude(dps)  # max |arg| * noise <= 2^line, and >= 2^(line - 3)
    if low - 2 > line:
        return True
    if low <= line - 3:
        return False
    largest = max((abs(a) for a in args), default=0)
    return bool(abs(result) > largest * _noise_factor(dps))


@functools.lru_cache(maxsize=64)
def _noise_magnitude(dps: int) -> int:
    return int(mpmath.mag(_noise_factor(dps)))


@functools.lru_cache(maxsize=64)
def _noise_factor(dps: int) -> Any:
    """10^(20 - dps): how far below its arguments a result is rounding noise at `dps` digits."""
    with mpmath.workdps(dps):
        return mpmath.mpf(10) ** (20 - dps)
