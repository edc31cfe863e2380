"""Expression tree -> SymPy, without triggering huge computations.

SymPy evaluates numbers eagerly: `9^9^9^9`, `root(3, 1/10^7)` or `binomial(10^9, 5*10^8)` would
never finish. Before each numeric power, root, exponential or binomial is built, the size of its
result is estimated from logarithms; every built value is checked again. Results needing more than
`MAX_DIGITS` digits are refused with `number_too_large`.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
from collections.abc import Mapping
from typing import Any

from ..errors import InputError
from . import ast
from .limits import MAX_DIGITS
from .table import CONSTANTS, FUNCTIONS

__all__ = ["MAX_DIGITS", "build_sympy", "load_sympy"]

# Any power beyond this is refused, whatever its size, unless the base is 0, 1 or -1 (or I).
MAX_EXPONENT = 10**7
# x^(10^7): symbolic, but no evaluator can use it.
MAX_SYMBOLIC_EXPONENT = 10**6
# floor, ceiling and mod need every integer digit of an inexact value: 10^300 is already beyond
# what any float evaluator can represent.
MAX_ROUNDED_DIGITS = 300
# binomial(n, k) costs about k steps when n is not an integer, and n steps when k is not one.
MAX_BINOMIAL_STEPS = 1_000
MAX_BINOMIAL_STEPS_IRRATIONAL = 30
MAX_SYMBOLIC_BINOMIAL = 10**5

_LOG10_2 = math.log10(2)
_LOG10_E = math.log10(math.e)


def _too_large(node: ast.Node, text: str | None) -> InputError:
    return InputError(
        "number_too_large",
        "This part of the expression is too large a number to grade.",
        column=node.start + 1,
        end_column=node.end + 1,
        hint=f"numbers may have at most {MAX_DIGITS} digits",
        text=text,
    )


def _log10_int(n: int) -> float:
    return math.log10(n) if n > 0 else 0.0  # math.log10 takes integers of any size


class _Sizes:
    """Size estimates for the numeric SymPy values of one build, memoised by value.

    Two measures, both read from the structure of a value, so they are cheap even when the value
    itself is astronomically large:
    - `exact_digits`: digits of the exact numerators and denominators SymPy holds (2^-20000 needs
      6021 of them);
    - `magnitude`: an upper estimate of log10|value|. Only large values are refused on it:
      exp(-20000) is a small number SymPy keeps as a symbol, exp(20000) overflows any evaluator.
    """

    def __init__(self, sp: Any) -> None:
        self.sp = sp
        self._exact: dict[Any, float] = {}
        self._magnitude: dict[Any, float] = {}

    def too_large(self, value: Any) -> bool:
        return self.exact_digits(value) > MAX_DIGITS or self.magnitude(value) > MAX_DIGITS

    def exact_digits(self, value: Any) -> float:
        cached = self._exact.get(value)
        if cached is None:
            cached = self._exact[value] = self._exact_digits(value)
        return cached

    def _exact_digits(self, value: Any) -> float:
        if value.is_Rational:
            return max(_log10_int(abs(int(value.p))), _log10_int(int(value.q)))
        if value.is_Float or _is_special(self.sp, value):
            return 0.0
        if value.is_Pow:
            base, exponent = value.args
            exponent_digits = 0.0 if exponent.is_Integer else self.exact_digits(exponent)
            return self.exact_digits(base) * self.size(exponent) + exponent_digits
        return float(sum(self.exact_digits(arg) for arg in value.args))

    def magnitude(self, value: Any) -> float:
        cached = self._magnitude.get(value)
        if cached is None:
            cached = self._magnitude[value] = self._magnitude_of(value)
        return cached

    def _magnitude_of(self, value: Any) -> float:
        sp = self.sp
        if value.is_Rational:
            if value.p == 0:
                return -math.inf
            return _log10_int(abs(int(value.p))) - _log10_int(int(value.q))
        if value.is_Float:
            _sign, mantissa, exponent, _bits = value._mpf_
            if not mantissa:  # zero, or an infinity/nan
                return -math.inf
            if abs(int(exponent)) > 2**1000:  # sinh(1e400): beyond any float exponent
                return math.inf if int(exponent) > 0 else -math.inf
            return _log10_int(int(mantissa)) + int(exponent) * _LOG10_2
        if _is_special(sp, value):
            return 0.0  # symbols, never evaluated digit by digit
        if value.is_Pow:
            return self.power_magnitude(*value.args)
        if isinstance(value, sp.exp):
            return self.power_magnitude(sp.E, value.args[0])
        if value.is_Mul:
            parts = [self.magnitude(arg) for arg in value.args]
            return -math.inf if -math.inf in parts else sum(parts)
        if value.is_Add:
            return max(self.magnitude(arg) for arg in value.args) + math.log10(len(value.args))
        # Constants and functions of numbers: a 15-digit approximation gives the magnitude.
        try:
            approximation = abs(complex(value.evalf(15)))
        except (ArithmeticError, TypeError, ValueError):
            return 0.0
        if approximation == 0:
            return -math.inf
        return math.log10(approximation)

    def power_magnitude(self, base: Any, exponent: Any) -> float:
        """Upper estimate of log10|base^exponent| (principal branch)."""
        base_magnitude = self.magnitude(base)
        if exponent.is_extended_real:
            power = self.real(exponent)
            if base_magnitude in (0, -math.inf) or power == 0:
                return 0.0  # 0^x is 0 or zoo, x^0 is 1, and |b| = 1 gives |b^x| = 1
            return base_magnitude * power
        # |b^z| = |b|^Re(z) * exp(-Im(z) arg(b)) <= 10^(|z| (|log10|b|| + pi log10(e)))
        if base_magnitude == -math.inf:
            return 0.0
        return self.size(exponent) * (abs(base_magnitude) + math.pi * _LOG10_E)

    def size(self, value: Any) -> float:
        """|value| as a float (inf when beyond floats), for the exponents of powers."""
        return abs(self.real(value)) if value.is_extended_real else self._abs(value)

    def real(self, value: Any) -> float:
        """A real number as a float: +-inf beyond floats, and inf when it cannot be evaluated
        (a value that cannot be sized is refused rather than risked)."""
        if value.is_Rational:
            if value.p == 0:
                return 0.0
            if _log10_int(abs(int(value.p))) - _log10_int(int(value.q)) > 300:
                return math.inf if int(value.p) > 0 else -math.inf
            return float(value)
        try:
            return float(complex(value.evalf(15)).real)
        except (ArithmeticError, TypeError, ValueError):
            return math.inf

    def _abs(self, value: Any) -> float:
        try:
            return abs(complex(value.evalf(15)))
        except (ArithmeticError, TypeError, ValueError):
            return math.inf


def load_sympy() -> Any:
    """The `sympy` module, imported on first use with SIGALRM held back.

    Batch workers start without SymPy, so its import (about a second) can happen inside a check,
    under the time budget's interval timer. An import cut short by the timer would leave SymPy
    half-initialized for the rest of the process (some submodules loaded, the package not), so
    the alarm waits until the import is done; the check then times out as it should.
    """
    module = sys.modules.get("sympy")
    if module is not None:
        return module
    held = None
    if threading.current_thread() is threading.main_thread() and hasattr(
        signal, "pthread_sigmask"
    ):
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    try:
        import sympy
    except BaseException:
        # An import that fails part way (a batch worker's memory limit hit in the middle of it)
        # leaves the submodules it finished in sys.modules: the next `import sympy` would run
        # the package again around them without binding them to it ("module 'sympy' has no
        # attribute 'polys'"), for the rest of the process. Forget them all: the next
        # import starts from nothing.
        for name in [name for name in sys.modules if name == "sympy" or name.startswith("sympy.")]:
            del sys.modules[name]
        raise
    finally:
        if held is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
    return sympy


def build_sympy(
    node: ast.Node,
    *,
    symbols: Mapping[str, Any] | None = None,
    text: str | None = None,
) -> Any:
    """Build the SymPy expression of `node`. Variables are real symbols unless `symbols` says.

    Raises `InputError` with code `number_too_large` for numbers too large to grade.
    """
    sp = load_sympy()
    symbols = dict(symbols or {})
    sizes = _Sizes(sp)
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
        value = _build_one(sp, current, args, symbols, text, sizes)
        if not isinstance(value, tuple):
            _check_result(current, value, text, sizes)
        results[id(current)] = value
    return results[id(node)]


def _binary(sp: Any, op: str, left: Any, right: Any) -> Any:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    # Not left / right: SymPy's Float division raises ZeroDivisionError for 1.0/0.0, while 1/0
    # and 1.0*0.0^-1 are zoo.
    return left * sp.Pow(right, -1)


def _build_one(
    sp: Any,
    node: ast.Node,
    args: list[Any],
    symbols: dict[str, Any],
    text: str | None,
    sizes: _Sizes,
) -> Any:
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
        if node.op == "^":
            _check_power(sp, node, left, right, text, sizes)
            return sp.Pow(left, right)
        return _binary(sp, node.op, left, right)
    if isinstance(node, ast.Call):
        return _build_call(sp, node, args, text, sizes)
    raise TypeError(f"unknown node {node!r}")  # pragma: no cover


def _build_call(sp: Any, node: ast.Call, args: list[Any], text: str | None,
                sizes: _Sizes) -> Any:
    spec = FUNCTIONS[node.name]
    if len(args) == 1 and isinstance(args[0], tuple):
        args = list(args[0])  # gcd((a, b, c)): the parser allows a list only for list_form
    if node.name == "root":
        _check_power(sp, node, args[0], sp.Pow(args[1], -1), text, sizes)
    elif node.name == "exp":
        _check_power(sp, node, sp.E, args[0], text, sizes)
    elif node.name == "binomial":
        _check_binomial(sp, node, args, text, sizes)
    elif node.name in {"floor", "ceiling", "mod"}:
        for value in args:
            if value.is_number and not value.is_Rational and (
                sizes.magnitude(value) > MAX_ROUNDED_DIGITS
            ):
                raise _too_large(node, text)
        if node.name == "mod" and (
            args[1].is_zero or not all(_is_comparable(value) for value in args)
        ):
            # Undefined, like 0/0: SymPy raises ZeroDivisionError for mod(1, 0) and TypeError
            # or RecursionError for mod(1, acos(2)).
            return sp.nan
    elif node.name in {"max", "min", "atan2"} and not all(_is_comparable(v) for v in args):
        # max(I, 1) and atan2(0, nan) have no value; SymPy raises ValueError or TypeError, and
        # atan2(acos(2), 0) does not return at all.
        return sp.nan
    if spec.list_form and len(args) != 2:
        # gcd([a]) is gcd(a, a); longer lists fold pairwise.
        value = args[0]
        for item in args[1:] or args:
            value = spec.sympy(sp, value, item)
            _check_result(node, value, text, sizes)  # lcm of many large numbers grows fast
    else:
        value = spec.sympy(sp, *args)
    if not value.is_Atom and any(a.has(sp.zoo, sp.nan) for a in args):
        # sign(zoo), erf(zoo), binomial(5, zoo): undefined, and left unevaluated SymPy may
        # spend minutes just printing them.
        return sp.nan
    return value


def _is_comparable(value: Any) -> bool:
    """Whether Max/Min accept `value`: not known to be non-real, and no unordered number."""
    return not (value.is_extended_real is False or (value.is_number and not value.is_comparable))


def _is_special(sp: Any, value: Any) -> bool:
    return bool(value.has(sp.oo, -sp.oo, sp.zoo, sp.nan))


def _check_power(sp: Any, node: ast.Node, base: Any, exponent: Any, text: str | None,
                 sizes: _Sizes) -> None:
    """Refuse base^exponent before SymPy evaluates it, when its result would be too large."""
    if not exponent.is_number or _is_special(sp, exponent) or _is_special(sp, base):
        return
    size = sizes.size(exponent)
    if base.is_number:
        if base.is_zero or base in (sp.I, -sp.I) or (
            (base.is_Rational and abs(base) == 1) or (base.is_Float and abs(float(base)) == 1)
        ):
            return  # SymPy reduces any power of 0, 1, -1 and I at once
        # 2^(1/10^100) is small, but writing it takes the exponent's digits.
        exponent_digits = 0.0 if exponent.is_Integer else sizes.exact_digits(exponent)
        if (
            size > MAX_EXPONENT
            or sizes.exact_digits(base) * size + exponent_digits > MAX_DIGITS
            or sizes.power_magnitude(base, exponent) > MAX_DIGITS
        ):
            raise _too_large(node, text)
        return
    if size > MAX_SYMBOLIC_EXPONENT:
        raise _too_large(node, text)
    # (c*x)^n distributes: c^n*x^n, so the numeric factors of the base are raised too.
    for factor in sp.Mul.make_args(base):
        if factor.is_number and (
            sizes.exact_digits(factor) * size > MAX_DIGITS
            or abs(sizes.magnitude(factor)) * size > MAX_DIGITS
        ):
            raise _too_large(node, text)


def _check_result(node: ast.Node, value: Any, text: str | None, sizes: _Sizes) -> None:
    """Refuse a built value that holds a number too large to print or evaluate."""
    if not hasattr(value, "is_number"):
        return
    if value.is_number:
        if sizes.too_large(value):
            raise _too_large(node, text)
        return
    if isinstance(node, ast.Binary) and node.op in {"+", "-"}:
        # Each term was checked when it was built, and adding like terms (2*x + 3*x) grows a
        # coefficient by a digit at most. Skipping the scan keeps long sums linear.
        return
    sp = sizes.sp
    # 10^3000*(10^3000*x + 1) distributes: the coefficients of the terms are new numbers.
    for term in sp.Add.make_args(value):
        coefficient = term.as_coeff_Mul()[0]
        if sizes.too_large(coefficient):
            raise _too_large(node, text)
    if value.is_Pow and value.exp.is_number and not _is_special(sp, value.exp):
        if sizes.size(value.exp) > MAX_SYMBOLIC_EXPONENT:
            raise _too_large(node, text)


def _binomial_digits(n: int, k: int) -> float:
    """Digits of binomial(n, k) for integers, from log-gamma (no big integer is formed)."""
    if k < 0 or (n >= 0 and k > n):
        return 0.0
    if n < 0:  # binomial(-n, k) = (-1)^k * binomial(n + k - 1, k)
        n = -n + k - 1
    k = min(k, n - k)
    if k <= 0:
        return 0.0
    if n < 10**15:
        return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)) / math.log(10)
    return k * _log10_int(n)


def _check_binomial(sp: Any, node: ast.Call, args: list[Any], text: str | None,
                    sizes: _Sizes) -> None:
    n, k = args
    n_numeric, k_numeric = bool(n.is_number), bool(k.is_number)
    special_n, special_k = _is_special(sp, n), _is_special(sp, k)
    if special_n or special_k:
        # binomial(n, zoo) is n!/gamma(zoo)^2, and SymPy still computes n!.
        other = k if special_n else n
        too_large = bool(
            not (special_n and special_k)
            and other.is_number
            and sizes.size(other) > MAX_BINOMIAL_STEPS
        )
    elif n_numeric and k_numeric:
        if n.is_Integer and k.is_Integer:
            too_large = _binomial_digits(int(n), int(k)) > MAX_DIGITS
        elif k.is_Integer:
            limit = (
                MAX_BINOMIAL_STEPS if n.is_Rational or n.is_Float else MAX_BINOMIAL_STEPS_IRRATIONAL
            )
            too_large = abs(int(k)) > limit
        else:
            too_large = sizes.size(n) > MAX_BINOMIAL_STEPS
    elif k_numeric:
        too_large = sizes.size(k) > MAX_SYMBOLIC_BINOMIAL
    elif n_numeric:
        too_large = sizes.size(n) > MAX_SYMBOLIC_BINOMIAL
    else:
        too_large = False
    if too_large:
        raise _too_large(node, text)
