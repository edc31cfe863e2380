"""The one table of functions and constants of the learner syntax.

Everything reads it: the parser (is a name a function?), the error hints ("did you mean"), the SymPy
builder, the preview renderers, the checker's numeric kits and the help page. Nothing else lists the
functions again. Builders receive the `sympy` module as their first argument so that importing this
table never imports SymPy (previews must start fast).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = [
    "ALIASES",
    "CONSTANTS",
    "FUNCTIONS",
    "ConstantSpec",
    "FunctionSpec",
    "VARIABLE_WARNINGS",
    "variable_warning",
]


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    name: str
    min_args: int
    max_args: int | None  # None: any number from min_args on
    list_form: bool  # also accepts a single tuple/list argument of any length: gcd((a, b, c))
    sympy: Callable[..., Any]  # (sympy_module, *args) -> sympy.Expr
    latex: str  # template; {0}, {1} are the arguments, {args} all of them comma-separated
    style: str  # how previews draw it: "apply", "sqrt", "root", "abs", "floor", "ceiling", ...
    category: str
    description: str
    example: str

    def arity_text(self) -> str:
        if self.max_args is None:
            return f"{self.min_args} or more arguments"
        if self.min_args == self.max_args:
            plural = "argument" if self.min_args == 1 else "arguments"
            text = f"{self.min_args} {plural}"
        else:
            text = f"{self.min_args} to {self.max_args} arguments"
        if self.list_form:
            text += f", or one list such as {self.name}((a, b, c))"
        return text

    def accepts(self, count: int) -> bool:
        return count >= self.min_args and (self.max_args is None or count <= self.max_args)


@dataclass(frozen=True, slots=True)
class ConstantSpec:
    name: str
    sympy: Callable[[Any], Any]
    latex: str
    mathml: str  # the inner token element
    description: str


def _apply(name: str) -> str:
    # Templates go through str.format, so the braces of \operatorname{...} are doubled.
    return rf"\operatorname{{{{{name}}}}}\left({{0}}\right)"


def _std(name: str) -> str:
    return rf"\{name}\left({{0}}\right)"


def _gcd_like(sp: Any, which: str, *args: Any) -> Any:
    # sympy.gcd(x, y) is the polynomial gcd (1 for symbols); the learner means the integer gcd,
    # so symbolic arguments stay as an unevaluated function.
    if all(getattr(a, "is_Integer", False) for a in args):
        fold = sp.igcd if which == "gcd" else sp.ilcm
        return sp.Integer(fold(*[int(a) for a in args]))
    return sp.Function(which)(*args)


def _log10(sp: Any, a: Any) -> Any:
    return sp.log(a, 10)


def _fn(
    name: str,
    min_args: int,
    max_args: int | None,
    sympy: Callable[..., Any],
    latex: str,
    category: str,
    description: str,
    example: str,
    *,
    style: str = "apply",
    list_form: bool = False,
) -> FunctionSpec:
    return FunctionSpec(
        name, min_args, max_args, list_form, sympy, latex, style, category, description, example
    )


_FUNCTIONS = [
    # Basic numeric functions
    _fn("abs", 1, 1, lambda sp, a: sp.Abs(a), r"\left|{0}\right|", "Basic numeric functions",
        "absolute value", "abs(-3)", style="abs"),
    _fn("max", 2, None, lambda sp, *a: sp.Max(*a), r"\max\left({args}\right)",
        "Basic numeric functions", "the largest of two or more values", "max(2, 5)"),
    _fn("min", 2, None, lambda sp, *a: sp.Min(*a), r"\min\left({args}\right)",
        "Basic numeric functions", "the smallest of two or more values", "min(2, 5)"),
    _fn("mod", 2, 2, lambda sp, a, b: sp.Mod(a, b), r"{0} \bmod {1}",
        "Basic numeric functions", "remainder of a divided by b, with the sign of b",
        "mod(10, 3)", style="mod"),
    _fn("ceiling", 1, 1, lambda sp, a: sp.ceiling(a), r"\left\lceil {0} \right\rceil",
        "Basic numeric functions", "smallest integer not less than the value", "ceiling(2.1)",
        style="ceiling"),
    _fn("floor", 1, 1, lambda sp, a: sp.floor(a), r"\left\lfloor {0} \right\rfloor",
        "Basic numeric functions", "largest integer not greater than the value", "floor(2.9)",
        style="floor"),
    _fn("gcd", 2, 2, lambda sp, *a: _gcd_like(sp, "gcd", *a), r"\gcd\left({args}\right)",
        "Basic numeric functions",
        "greatest common divisor; two arguments, or one list: gcd((a, b, c))", "gcd(8, 12)",
        list_form=True),
    _fn("lcm", 2, 2, lambda sp, *a: _gcd_like(sp, "lcm", *a),
        r"\operatorname{{lcm}}\left({args}\right)",
        "Basic numeric functions",
        "least common multiple; two arguments, or one list: lcm((a, b, c))", "lcm(4, 6)",
        list_form=True),
    _fn("sign", 1, 1, lambda sp, a: sp.sign(a), _apply("sign"), "Basic numeric functions",
        "-1 if negative, 0 if zero, 1 if positive", "sign(-4)"),
    # Exponents
    _fn("exp", 1, 1, lambda sp, a: sp.exp(a), _std("exp"), "Exponents",
        "the exponential function, E^x", "exp(2)"),
    _fn("ln", 1, 1, lambda sp, a: sp.log(a), _std("ln"), "Exponents",
        "natural logarithm (base E)", "ln(E^3)"),
    _fn("log", 1, 1, _log10, r"\log_{{10}}\left({0}\right)", "Exponents",
        "common logarithm (base 10)", "log(1000)", style="log10"),
    _fn("root", 2, 2, lambda sp, a, n: sp.root(a, n), r"\sqrt[{1}]{{{0}}}", "Exponents",
        "root(a, n) is the n-th root a^(1/n); root(a, 2) is sqrt(a)", "root(27, 3)",
        style="root"),
    _fn("sqrt", 1, 1, lambda sp, a: sp.sqrt(a), r"\sqrt{{{0}}}", "Exponents", "square root",
        "sqrt(17)", style="sqrt"),
    # Trigonometry
    _fn("cos", 1, 1, lambda sp, a: sp.cos(a), _std("cos"), "Trigonometry", "cosine (radians)",
        "cos(5*x)"),
    _fn("cosh", 1, 1, lambda sp, a: sp.cosh(a), _std("cosh"), "Trigonometry", "hyperbolic cosine",
        "cosh(x)"),
    _fn("cot", 1, 1, lambda sp, a: sp.cot(a), _std("cot"), "Trigonometry", "cotangent, 1/tan(x)",
        "cot(x)"),
    _fn("coth", 1, 1, lambda sp, a: sp.coth(a), _std("coth"), "Trigonometry",
        "hyperbolic cotangent", "coth(x)"),
    _fn("sin", 1, 1, lambda sp, a: sp.sin(a), _std("sin"), "Trigonometry", "sine (radians)",
        "sin(x)"),
    _fn("sinh", 1, 1, lambda sp, a: sp.sinh(a), _std("sinh"), "Trigonometry", "hyperbolic sine",
        "sinh(x)"),
    _fn("tan", 1, 1, lambda sp, a: sp.tan(a), _std("tan"), "Trigonometry", "tangent (radians)",
        "tan(x)"),
    _fn("tanh", 1, 1, lambda sp, a: sp.tanh(a), _std("tanh"), "Trigonometry",
        "hyperbolic tangent", "tanh(x)"),
    _fn("acos", 1, 1, lambda sp, a: sp.acos(a), _apply("acos"), "Trigonometry",
        "inverse cosine", "acos(1/2)"),
    _fn("acosh", 1, 1, lambda sp, a: sp.acosh(a), _apply("acosh"), "Trigonometry",
        "inverse hyperbolic cosine", "acosh(2)"),
    _fn("acot", 1, 1, lambda sp, a: sp.acot(a), _apply("acot"), "Trigonometry",
        "inverse cotangent", "acot(x)"),
    _fn("acoth", 1, 1, lambda sp, a: sp.acoth(a), _apply("acoth"), "Trigonometry",
        "inverse hyperbolic cotangent", "acoth(2)"),
    _fn("asin", 1, 1, lambda sp, a: sp.asin(a), _apply("asin"), "Trigonometry",
        "inverse sine", "asin(1/2)"),
    _fn("asinh", 1, 1, lambda sp, a: sp.asinh(a), _apply("asinh"), "Trigonometry",
        "inverse hyperbolic sine", "asinh(x)"),
    _fn("atan", 1, 1, lambda sp, a: sp.atan(a), _apply("atan"), "Trigonometry",
        "inverse tangent", "atan(1)"),
    _fn("atan2", 2, 2, lambda sp, y, x: sp.atan2(y, x),
        r"\operatorname{{atan2}}\left({0}, {1}\right)",
        "Trigonometry", "atan2(y, x): the angle of the point (x, y), in (-pi, pi]",
        "atan2(-1, 1)"),
    _fn("atanh", 1, 1, lambda sp, a: sp.atanh(a), _apply("atanh"), "Trigonometry",
        "inverse hyperbolic tangent", "atanh(1/2)"),
    _fn("deg", 1, 1, lambda sp, a: 180 * a / sp.pi, _apply("deg"), "Trigonometry",
        "converts radians to degrees: deg(x) = 180*x/pi", "deg(pi/2)"),
    _fn("rad", 1, 1, lambda sp, a: sp.pi * a / 180, _apply("rad"), "Trigonometry",
        "converts degrees to radians: rad(x) = pi*x/180", "rad(90)"),
    # Complex numbers
    _fn("arg", 1, 1, lambda sp, a: sp.arg(a), _apply("arg"), "Complex numbers",
        "phase (angle) of a complex number, in radians", "arg(-1)"),
    _fn("conjugate", 1, 1, lambda sp, a: sp.conjugate(a), r"\overline{{{0}}}", "Complex numbers",
        "complex conjugate", "conjugate(2 + 3*I)", style="conjugate"),
    _fn("im", 1, 1, lambda sp, a: sp.im(a), r"\operatorname{{Im}}\left({0}\right)",
        "Complex numbers", "imaginary part", "im(2 + 3*I)"),
    _fn("re", 1, 1, lambda sp, a: sp.re(a), r"\operatorname{{Re}}\left({0}\right)",
        "Complex numbers", "real part", "re(2 + 3*I)"),
    # Other functions
    _fn("erf", 1, 1, lambda sp, a: sp.erf(a), _apply("erf"), "Other functions",
        "the error function", "erf(1)"),
    _fn("binomial", 2, 2, lambda sp, n, k: sp.binomial(n, k), r"\binom{{{0}}}{{{1}}}",
        "Other functions", "binomial coefficient: binomial(n, k) is n choose k",
        "binomial(4, 2)", style="binomial"),
]

FUNCTIONS: MappingProxyType[str, FunctionSpec] = MappingProxyType({f.name: f for f in _FUNCTIONS})

_CONSTANTS = [
    # Upright G, e and i, so Catalan, E and I never look like the variables G, e and i.
    ConstantSpec("Catalan", lambda sp: sp.Catalan, r"\mathrm{G}", '<mi mathvariant="normal">G</mi>',
                 "Catalan's constant"),
    ConstantSpec("E", lambda sp: sp.E, r"\mathrm{e}", '<mi mathvariant="normal">e</mi>',
                 "Euler's number, 2.71828... (uppercase)"),
    ConstantSpec("EulerGamma", lambda sp: sp.EulerGamma, r"\gamma", "<mi>&#x3B3;</mi>",
                 "the Euler-Mascheroni constant, 0.57721..."),
    # \varphi prints U+03C6, the letter of the MathML (\phi prints U+03D5).
    ConstantSpec("GoldenRatio", lambda sp: sp.GoldenRatio, r"\varphi", "<mi>&#x3C6;</mi>",
                 "the golden ratio, (1 + sqrt(5))/2"),
    ConstantSpec("I", lambda sp: sp.I, r"\mathrm{i}", '<mi mathvariant="normal">i</mi>',
                 "the imaginary unit, sqrt(-1) (uppercase)"),
    ConstantSpec("J", lambda sp: sp.I, r"\mathrm{i}", '<mi mathvariant="normal">i</mi>',
                 "the imaginary unit, same as I"),
    ConstantSpec("nan", lambda sp: sp.nan, r"\mathrm{NaN}", "<mi>NaN</mi>", "not a number"),
    ConstantSpec("oo", lambda sp: sp.oo, r"\infty", "<mi>&#x221E;</mi>", "infinity"),
    ConstantSpec("pi", lambda sp: sp.pi, r"\pi", "<mi>&#x3C0;</mi>", "pi, 3.14159..."),
    ConstantSpec("zoo", lambda sp: sp.zoo, r"\tilde{\infty}",
                 '<mover accent="true"><mi>&#x221E;</mi><mo>~</mo></mover>', "complex infinity"),
]

CONSTANTS: MappingProxyType[str, ConstantSpec] = MappingProxyType({c.name: c for c in _CONSTANTS})

# Names learners type for something the syntax spells differently: name -> (replacement, note).
# A replacement of None means the function is not available, and the note says what to write.
ALIASES: MappingProxyType[str, tuple[str | None, str]] = MappingProxyType({
    "arcsin": ("asin", ""), "arccos": ("acos", ""), "arctan": ("atan", ""),
    "arccot": ("acot", ""), "arcsinh": ("asinh", ""), "arccosh": ("acosh", ""),
    "arctanh": ("atanh", ""), "arcoth": ("acoth", ""), "arccoth": ("acoth", ""),
    "arsinh": ("asinh", ""), "arcosh": ("acosh", ""), "artanh": ("atanh", ""),
    "ctg": ("cot", ""), "tg": ("tan", ""), "arctg": ("atan", ""),
    "sgn": ("sign", ""), "signum": ("sign", ""), "ceil": ("ceiling", ""),
    "lg": ("log", "log is base 10"), "log10": ("log", "log is base 10"),
    "In": ("ln", "the natural logarithm is ln, with a lowercase L"),
    "choose": ("binomial", ""), "nCr": ("binomial", ""), "comb": ("binomial", ""),
    "atn": ("atan", ""), "arctan2": ("atan2", ""), "conj": ("conjugate", ""),
    "Re": ("re", ""), "Im": ("im", ""), "angle": ("arg", ""), "phase": ("arg", ""),
    "modulo": ("mod", ""), "rem": ("mod", ""), "absolute": ("abs", ""),
    "sec": (None, "sec is not available: write 1/cos(x)"),
    "csc": (None, "csc is not available: write 1/sin(x)"),
    "cosec": (None, "cosec is not available: write 1/sin(x)"),
    "sech": (None, "sech is not available: write 1/cosh(x)"),
    "csch": (None, "csch is not available: write 1/sinh(x)"),
    "cosech": (None, "cosech is not available: write 1/sinh(x)"),
    "asec": (None, "asec is not available: write acos(1/x)"),
    "acsc": (None, "acsc is not available: write asin(1/x)"),
    "arcsec": (None, "arcsec is not available: write acos(1/x)"),
    "arccsc": (None, "arccsc is not available: write asin(1/x)"),
    "log2": (None, "log2 is not available: write ln(x)/ln(2)"),
    "log_2": (None, "log_2 is not available: write ln(x)/ln(2)"),
    "cbrt": (None, "cbrt is not available: write root(x, 3)"),
    "pow": (None, "use ^ for powers: write x^2"),
    "power": (None, "use ^ for powers: write x^2"),
    "fact": (None, "factorial is not available in this syntax"),
    "factorial": (None, "factorial is not available in this syntax"),
})

# Names that are variables but that learners often mean as something else.
VARIABLE_WARNINGS: MappingProxyType[str, str] = MappingProxyType({
    "e": "e is a variable here; Euler's number is E (uppercase)",
    "i": "i is a variable here; the imaginary unit is I (uppercase)",
    "j": "j is a variable here; the imaginary unit is I or J (uppercase)",
    "inf": "inf is a variable here; infinity is oo",
    "infinity": "infinity is a variable here; infinity is oo",
    "Infinity": "Infinity is a variable here; infinity is oo",
    "Pi": "Pi is a variable here; the constant is pi (lowercase)",
    "PI": "PI is a variable here; the constant is pi (lowercase)",
    "phi": "phi is a variable here; the golden ratio is GoldenRatio",
    "gamma": "gamma is a variable here; the Euler-Mascheroni constant is EulerGamma",
})


_BY_LENGTH = sorted(FUNCTIONS, key=len, reverse=True)  # sinh before sin, acos before cos


def variable_warning(name: str) -> str | None:
    """Why a variable name may not be what the learner meant, or None.

    Besides the names above, a function name run together with a number or one letter (`ln5`,
    `sinx`, `sin2x`, `log10`) is a single variable: the FAQ asks for `ln(5)`. Longer tails
    (`radius`, `cost`) are ordinary names and get no warning.

    >>> variable_warning("sin2x")
    'sin2x is a variable here; for the function write sin(2*x)'
    >>> variable_warning("radius") is None
    True
    """
    if name in VARIABLE_WARNINGS:
        return VARIABLE_WARNINGS[name]
    for function in _BY_LENGTH:
        if len(name) > len(function) and name.startswith(function):
            tail = name[len(function):]
            digits = tail.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
            letter = tail[len(digits):]
            if (digits and not digits.isdigit()) or len(letter) > 1:
                return None
            argument = "*".join(part for part in (digits, letter) if part)
            return f"{name} is a variable here; for the function write {function}({argument})"
    return None
