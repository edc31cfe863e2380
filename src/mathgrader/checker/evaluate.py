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
    """sqrt, ln, powers, arg, acosh: a real argument is taken from above the cut."""
    return np.where(z.imag == 0, z.real + 0j, z)


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
    try:
        return complex(float(node.value))
    except OverflowError:  # 1e400: inf, as any overflow here, which mpmath then settles
        return complex(math.inf)


def _compile(node: ast.Node, names: Mapping[str, int]) -> NumpyFn:
    if isinstance(node, ast.Group):
        return _compile(node.inner, names)
    if isinstance(node, ast.Number | ast.Constant):
        value = _number(node) if isinstance(node, ast.Number) else NUMPY_CONSTANTS[node.name]
        return lambda x: (np.full(x.shape[1], value, dtype=complex), _zeros_like_points(x))
    if isinstance(node, ast.Name):
        index = names[node.name]
        return lambda x: (x[index], _zeros_like_points(x))
    if isinstance(node, ast.Unary):
        inner = _compile(node.operand, names)
        if node.op == "+":
            return inner

        def negate(x: Array) -> tuple[Array, Array]:
            value, scale = inner(x)
            return -value, scale

        return negate
    if isinstance(node, ast.Binary):
        return _compile_binary(node, names)
    if isinstance(node, ast.Call):
        return _compile_call(node, names)
    raise TypeError(f"cannot evaluate {type(node).__name__}")  # Sequence only inside gcd/lcm


def _compile_binary(node: ast.Binary, names: Mapping[str, int]) -> NumpyFn:
    left = _compile(node.left, names)
    op = node.op
    exponent = integer_literal(node.right) if op == "^" else None
    if exponent is not None:
        # Integer powers by repeated multiplication: exact signs for negative bases.
        def int_power(x: Array) -> tuple[Array, Array]:
            value, scale = left(x)
            return _cut_negative_real(value) ** exponent, scale

        return int_power
    right = _compile(node.right, names)

    def binary(x: Array) -> tuple[Array, Array]:
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

    return binary


def _compile_call(node: ast.Call, names: Mapping[str, int]) -> NumpyFn:
    compiled = [_compile(a, names) for a in _call_args(node)]
    impl = NUMPY_KIT[node.name]

    def call(x: Array) -> tuple[Array, Array]:
        values, scale = [], _zeros_like_points(x)
        for fn in compiled:
            value, s = fn(x)
            values.append(value)
            scale = np.maximum(scale, np.maximum(s, np.abs(value)))
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
    node = ast.strip_groups(node)
    sign = 1
    while isinstance(node, ast.Unary):
        sign = -sign if node.op == "-" else sign
        node = ast.strip_groups(node.operand)
    if isinstance(node, ast.Number) and not node.is_decimal and node.value.denominator == 1:
        value = sign * node.value.numerator
        if abs(value) <= 10_000:
            return value
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
    # Dispatch on the exact type, commonest first: this runs for every node of every answer
    # compared exactly, at every point.
    kind = type(node)
    while kind is ast.Group:
        node = node.inner  # type: ignore[attr-defined]
        kind = type(node)
    if kind is ast.Binary:
        op = node.op  # type: ignore[attr-defined]
        a = evaluate_exact(node.left, values)  # type: ignore[attr-defined]
        if op == "^":
            return _exact_power(a, evaluate_exact(node.right, values))  # type: ignore[attr-defined]
        b = evaluate_exact(node.right, values)  # type: ignore[attr-defined]
        if op == "*":
            result = a * b
        elif op == "+":
            result = a + b
        elif op == "-":
            result = a - b
        else:
            if b == 0:
                raise Undefined
            result = a / b
        if result.numerator.bit_length() + result.denominator.bit_length() > _MAX_EXACT_BITS:
            raise NotExact
        return result
    if kind is ast.Number:
        if node.is_decimal:  # type: ignore[attr-defined]
            raise NotExact
        return node.value  # type: ignore[attr-defined]
    if kind is ast.Name:
        return values[node.name]  # type: ignore[attr-defined]
    if kind is ast.Unary:
        inner = evaluate_exact(node.operand, values)  # type: ignore[attr-defined]
        return -inner if node.op == "-" else inner  # type: ignore[attr-defined]
    if kind is ast.Call:
        args = node.args  # type: ignore[attr-defined]
        if len(args) == 1 and type(args[0]) is ast.Sequence:
            args = args[0].items
        return EXACT_KIT[node.name](  # type: ignore[attr-defined]
            *[evaluate_exact(a, values) for a in args])
    raise NotExact  # constants, and a list outside gcd/lcm


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
        denominator = value.denominator
        # An integer is exactly what mpf(n) / 1 would round it to.
        result = mpmath.mpf(value.numerator)
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
