"""Expression tree -> LaTeX, presentation MathML and explicit plain text, exactly as typed.

This module owns how a tree is drawn for the learner: which parentheses are shown, how names,
numbers, constants and function calls look. It never evaluates or simplifies anything: `x/2*y`
is drawn as (x/2)*y and `9^9^9^9` is only text, so rendering costs time linear in the tree.

Parentheses come from the tree's structure and the operators' precedence, not from the
learner's own brackets (`Group` nodes are looked through): LaTeX and MathML show only those
needed to read the tree unambiguously, while the plain text also spells out the readings that
learners commonly get wrong (`-(x^2)`, `(x/2)*y`, `2^(3^2)`). The plain text is in the learner
syntax and parses back to the same tree, ignoring `Group` nodes.

How functions and constants look comes from the table (a function's `latex` template and
`style`, a constant's `latex` and `mathml`); no function or constant is named here.
"""

from __future__ import annotations

import enum
import functools
import html
import re

from . import ast
from .table import CONSTANTS, FUNCTIONS, VARIABLE_WARNINGS, FunctionSpec

__all__ = ["MATHML_NAMESPACE", "STYLES", "to_latex", "to_mathml", "to_text"]

MATHML_NAMESPACE = "http://www.w3.org/1998/Math/MathML"

# The function styles this module knows how to draw; any other style falls back to the
# template (LaTeX) and to "name(arguments)" (MathML). A test checks the table uses only these.
STYLES = frozenset(
    {"apply", "log10", "sqrt", "root", "abs", "floor", "ceiling", "conjugate", "binomial", "mod"}
)


class _Kind(enum.Enum):
    """What a (group-stripped) node looks like to its parent, for choosing parentheses."""

    SUM = enum.auto()  # a + b, a - b
    MUL = enum.auto()  # a * b
    DIV = enum.auto()  # a / b
    POW = enum.auto()  # a ^ b
    UNARY = enum.auto()  # -a, +a
    MOD = enum.auto()  # a mod b: an infix operator in LaTeX/MathML, a call in text
    SCI = enum.auto()  # 2.5e-3: drawn as 2.5 x 10^-3 in LaTeX/MathML, one token in text
    ATOM = enum.auto()  # names, constants, plain numbers, calls


class _Role(enum.Enum):
    """Where a child sits in its parent."""

    SUM_LEFT = enum.auto()
    SUM_RIGHT = enum.auto()
    MUL_LEFT = enum.auto()
    MUL_RIGHT = enum.auto()
    DIV_LEFT = enum.auto()
    DIV_RIGHT = enum.auto()
    UNARY = enum.auto()
    BASE = enum.auto()
    EXPONENT = enum.auto()
    MOD_ARG = enum.auto()


_K = _Kind
_R = _Role

# LaTeX and MathML: a fraction bar and a raised exponent already show the grouping, so only
# what the eye cannot otherwise recover is bracketed. Left-nested sums and products read
# left to right as the parser reads them; -x^2 is conventionally -(x^2) in print.
_VISUAL_PARENS: dict[_Role, frozenset[_Kind]] = {
    _R.SUM_LEFT: frozenset({_K.MOD}),
    _R.SUM_RIGHT: frozenset({_K.SUM, _K.UNARY, _K.MOD}),
    _R.MUL_LEFT: frozenset({_K.SUM, _K.MOD}),
    # 2*1e-3 is 2 \cdot (1 \times 10^{-3}), not a run of two different product signs.
    _R.MUL_RIGHT: frozenset({_K.SUM, _K.MUL, _K.UNARY, _K.MOD, _K.SCI}),
    _R.DIV_LEFT: frozenset(),
    _R.DIV_RIGHT: frozenset(),
    _R.UNARY: frozenset({_K.SUM, _K.MUL, _K.UNARY, _K.MOD}),
    _R.BASE: frozenset(set(_Kind) - {_K.ATOM}),
    _R.EXPONENT: frozenset(),
    # a \bmod 1 \times 10^{3} would read as (a mod 1) * 10^3.
    _R.MOD_ARG: frozenset({_K.SUM, _K.MUL, _K.UNARY, _K.MOD, _K.SCI}),
}

# Roles drawn right after an operator sign: an operand there that begins with a sign of its
# own (a + -b*c) is bracketed, so that two signs never stand side by side (a + (-b \cdot c)).
_AFTER_SIGN = frozenset({_R.SUM_RIGHT, _R.MUL_RIGHT, _R.UNARY, _R.MOD_ARG})

# Plain text: besides the brackets the syntax needs, the ones that answer "how did the grader
# read this?" for the usual misreadings: -x^2, x/2*y, a/b/c, 2^3^2, x^-1, 2*-3.
_TEXT_PARENS: dict[_Role, frozenset[_Kind]] = {
    _R.SUM_LEFT: frozenset(),
    _R.SUM_RIGHT: frozenset({_K.SUM, _K.UNARY}),
    _R.MUL_LEFT: frozenset({_K.SUM, _K.DIV}),
    _R.MUL_RIGHT: frozenset({_K.SUM, _K.MUL, _K.DIV, _K.UNARY}),
    _R.DIV_LEFT: frozenset({_K.SUM, _K.MUL, _K.DIV}),
    _R.DIV_RIGHT: frozenset({_K.SUM, _K.MUL, _K.DIV, _K.UNARY}),
    _R.UNARY: frozenset({_K.SUM, _K.MUL, _K.DIV, _K.UNARY, _K.POW}),
    _R.BASE: frozenset({_K.SUM, _K.MUL, _K.DIV, _K.UNARY, _K.POW, _K.SCI}),
    _R.EXPONENT: frozenset({_K.SUM, _K.MUL, _K.DIV, _K.UNARY, _K.POW}),
    _R.MOD_ARG: frozenset(),
}

# Binary operators drawn in a row with their left operand first (fractions and powers are not).
_LEFT_ROLE_OF_ROW = {"+": _R.SUM_LEFT, "-": _R.SUM_LEFT, "*": _R.MUL_LEFT}

_BINARY_ROLES = {
    "+": (_R.SUM_LEFT, _R.SUM_RIGHT),
    "-": (_R.SUM_LEFT, _R.SUM_RIGHT),
    "*": (_R.MUL_LEFT, _R.MUL_RIGHT),
    "/": (_R.DIV_LEFT, _R.DIV_RIGHT),
    "^": (_R.BASE, _R.EXPONENT),
}

# Greek letter names -> (LaTeX command, code point). Variables with these names may be drawn
# as the letter; they stay variables.
_GREEK: dict[str, tuple[str, int]] = {
    "alpha": (r"\alpha", 0x3B1),
    "beta": (r"\beta", 0x3B2),
    "gamma": (r"\gamma", 0x3B3),
    "delta": (r"\delta", 0x3B4),
    "epsilon": (r"\epsilon", 0x3F5),  # lunate, as \epsilon prints; \varepsilon is U+03B5
    "varepsilon": (r"\varepsilon", 0x3B5),
    "zeta": (r"\zeta", 0x3B6),
    "eta": (r"\eta", 0x3B7),
    "theta": (r"\theta", 0x3B8),
    "vartheta": (r"\vartheta", 0x3D1),
    "iota": (r"\iota", 0x3B9),
    "kappa": (r"\kappa", 0x3BA),
    "lambda": (r"\lambda", 0x3BB),
    "mu": (r"\mu", 0x3BC),
    "nu": (r"\nu", 0x3BD),
    "xi": (r"\xi", 0x3BE),
    "pi": (r"\pi", 0x3C0),
    "rho": (r"\rho", 0x3C1),
    "varrho": (r"\varrho", 0x3F1),
    "sigma": (r"\sigma", 0x3C3),
    "varsigma": (r"\varsigma", 0x3C2),
    "tau": (r"\tau", 0x3C4),
    "upsilon": (r"\upsilon", 0x3C5),
    "phi": (r"\phi", 0x3D5),
    "varphi": (r"\varphi", 0x3C6),
    "chi": (r"\chi", 0x3C7),
    "psi": (r"\psi", 0x3C8),
    "omega": (r"\omega", 0x3C9),
    "Gamma": (r"\Gamma", 0x393),
    "Delta": (r"\Delta", 0x394),
    "Theta": (r"\Theta", 0x398),
    "Lambda": (r"\Lambda", 0x39B),
    "Xi": (r"\Xi", 0x39E),
    "Pi": (r"\Pi", 0x3A0),
    "Sigma": (r"\Sigma", 0x3A3),
    "Upsilon": (r"\Upsilon", 0x3A5),
    "Phi": (r"\Phi", 0x3A6),
    "Psi": (r"\Psi", 0x3A8),
    "Omega": (r"\Omega", 0x3A9),
}

_LATEX_SPECIALS = {
    "\\": r"\backslash{}",
    "{": r"\{",
    "}": r"\}",
    "_": r"\_",
    "^": r"\^{}",
    "#": r"\#",
    "$": r"\$",
    "%": r"\%",
    "&": r"\&",
    "~": r"\~{}",
}

# The head of a template: \operatorname{{Im}} or \sin, with an optional subscript \log_{{10}}.
_TEMPLATE_HEAD = re.compile(
    r"\\(?:operatorname\{\{(?P<op>[A-Za-z0-9]+)\}\}|(?P<cmd>[A-Za-z]+))"
    r"(?:_\{\{(?P<sub>[A-Za-z0-9]+)\}\})?"
)


# ------------------------------------------------------------------------------- shared


def _kind(node: ast.Node) -> _Kind:
    node = ast.strip_groups(node)
    if isinstance(node, ast.Binary):
        return {"+": _K.SUM, "-": _K.SUM, "*": _K.MUL, "/": _K.DIV}.get(node.op, _K.POW)
    if isinstance(node, ast.Unary):
        return _K.UNARY
    if isinstance(node, ast.Number) and "e" in node.text:
        return _K.SCI
    if isinstance(node, ast.Call):
        spec = FUNCTIONS.get(node.name)
        if spec is not None and spec.style == "mod":
            return _K.MOD
    return _K.ATOM


def _begins_with_sign(node: ast.Node) -> bool:
    """Whether the visual drawing of `node` starts with a + or - sign (-b*c, -a - b)."""
    node = ast.strip_groups(node)
    while isinstance(node, ast.Binary) and node.op in _LEFT_ROLE_OF_ROW:
        if _kind(node.left) in _VISUAL_PARENS[_LEFT_ROLE_OF_ROW[node.op]]:
            return False  # the left operand is bracketed: the drawing starts with "("
        node = ast.strip_groups(node.left)
    return isinstance(node, ast.Unary)


def _visual_brackets(node: ast.Node, role: _Role) -> bool:
    return _kind(node) in _VISUAL_PARENS[role] or (role in _AFTER_SIGN and _begins_with_sign(node))


def _call_args(node: ast.Call, spec: FunctionSpec | None) -> tuple[ast.Node, ...]:
    """The arguments to draw: the list form gcd((a, b, c)) is drawn as gcd(a, b, c)."""
    if (
        spec is not None
        and spec.list_form
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Sequence)
    ):
        return node.args[0].items
    return node.args


def _is_square_root_index(node: ast.Node) -> bool:
    node = ast.strip_groups(node)
    return isinstance(node, ast.Number) and not node.is_decimal and node.value == 2


@functools.cache
def _sqrt_template() -> str:
    # root(a, 2) is drawn as the table draws sqrt(a).
    for spec in FUNCTIONS.values():
        if spec.style == "sqrt":
            return spec.latex
    return r"\sqrt{{{0}}}"


@functools.cache
def _greek_excluded() -> frozenset[str]:
    # A variable must never look like a constant: phi would be drawn as GoldenRatio and gamma
    # as EulerGamma; names with a warning (Pi) stay words so the warning matches what is shown.
    # Both drawings count: the variable varphi and GoldenRatio differ in LaTeX (\varphi, \phi)
    # but the table draws GoldenRatio's MathML as the letter varphi prints.
    constant_forms = {spec.latex for spec in CONSTANTS.values()}
    constant_forms |= {spec.mathml for spec in CONSTANTS.values()}
    clashing = {
        name
        for name, (command, code) in _GREEK.items()
        if command in constant_forms or _mathml_greek(code) in constant_forms
    }
    return frozenset(clashing | set(VARIABLE_WARNINGS))


def _mathml_greek(code: int) -> str:
    # A one-letter <mi> is italic by default; capital Greek letters are upright, as in LaTeX.
    variant = ' mathvariant="normal"' if 0x391 <= code <= 0x3A9 else ""
    return f"<mi{variant}>&#x{code:X};</mi>"


def _greek(word: str) -> tuple[str, int] | None:
    if word in _GREEK and word not in _greek_excluded():
        return _GREEK[word]
    return None


def _split_subscript(name: str) -> tuple[str, str] | None:
    """x_1 -> ("x", "1"); names with no or several underscores are drawn whole."""
    base, sep, sub = name.partition("_")
    if sep and base and sub and "_" not in sub:
        return base, sub
    return None


def _split_number(text: str) -> tuple[str, int | None]:
    """Mantissa (with a leading 0 before a bare point) and the power of ten, if written."""
    mantissa, sep, exponent = text.partition("e")
    if mantissa.startswith("."):
        mantissa = "0" + mantissa
    return mantissa, int(exponent) if sep else None


# ------------------------------------------------------------------------------- LaTeX


def to_latex(*items: ast.Node) -> str:
    """LaTeX of one expression, or of a list's items separated by commas.

    >>> from mathgrader.language.parser import parse_tree
    >>> to_latex(parse_tree("x/2*y").node)
    '\\\\frac{x}{2} \\\\cdot y'
    """
    return ", ".join(_latex(item) for item in items)


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIALS.get(char, char) for char in text)


def _latex_word(word: str) -> str:
    greek = _greek(word)
    if greek is not None:
        return greek[0]
    if word.isdigit() or (len(word) == 1 and word.isalpha()):
        return word
    # Several letters are one name, not a product: \mathit keeps them together.
    return rf"\mathit{{{_latex_escape(word)}}}"


def _latex_name(name: str) -> str:
    split = _split_subscript(name)
    if split is not None:
        return f"{_latex_word(split[0])}_{{{_latex_word(split[1])}}}"
    return _latex_word(name)


def _latex_number(text: str) -> str:
    mantissa, exponent = _split_number(text)
    if exponent is None:
        return _latex_escape(mantissa)
    return rf"{_latex_escape(mantissa)} \times 10^{{{exponent}}}"


def _latex_operand(node: ast.Node, role: _Role) -> str:
    body = _latex(node)
    if _visual_brackets(node, role):
        return rf"\left({body}\right)"
    return body


def _latex(node: ast.Node) -> str:
    node = ast.strip_groups(node)
    if isinstance(node, ast.Number):
        return _latex_number(node.text)
    if isinstance(node, ast.Name):
        return _latex_name(node.name)
    if isinstance(node, ast.Constant):
        constant = CONSTANTS.get(node.name)
        return constant.latex if constant is not None else _latex_name(node.name)
    if isinstance(node, ast.Unary):
        return node.op + _latex_operand(node.operand, _R.UNARY)
    if isinstance(node, ast.Binary):
        left_role, right_role = _BINARY_ROLES[node.op]
        left = _latex_operand(node.left, left_role)
        right = _latex_operand(node.right, right_role)
        if node.op == "/":
            return rf"\frac{{{left}}}{{{right}}}"
        if node.op == "^":
            return f"{left}^{{{right}}}"
        symbol = r"\cdot" if node.op == "*" else node.op
        return f"{left} {symbol} {right}"
    if isinstance(node, ast.Call):
        return _latex_call(node)
    if isinstance(node, ast.Sequence):
        inner = ", ".join(_latex(item) for item in node.items)
        if node.bracket == "[":
            return rf"\left[{inner}\right]"
        return rf"\left({inner}\right)"
    raise TypeError(f"cannot render {type(node).__name__}")


def _latex_call(node: ast.Call) -> str:
    spec = FUNCTIONS.get(node.name)
    args = _call_args(node, spec)
    if spec is None:  # the parser refuses unknown functions; drawn plainly all the same
        inner = ", ".join(_latex(arg) for arg in args)
        return rf"\operatorname{{{_latex_escape(node.name)}}}\left({inner}\right)"
    template = spec.latex
    if spec.style == "mod":
        # a+b mod c would read as a + (b mod c): infix mod brackets its compound operands.
        rendered = [_latex_operand(arg, _R.MOD_ARG) for arg in args]
    else:
        rendered = [_latex(arg) for arg in args]
    if spec.style == "root" and len(args) == 2 and _is_square_root_index(args[1]):
        template = _sqrt_template()
    return template.format(*rendered, args=", ".join(rendered))


# ------------------------------------------------------------------------------- MathML


def to_mathml(*items: ast.Node) -> str:
    """A presentation MathML `<math>` element for one expression or a list's items."""
    if len(items) == 1:
        body = _mathml(items[0])
    else:
        separator = '<mo separator="true">,</mo>'
        body = "<mrow>" + separator.join(_mathml(item) for item in items) + "</mrow>"
    return f'<math xmlns="{MATHML_NAMESPACE}" display="block">{body}</math>'


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def _mrow(*parts: str) -> str:
    return "<mrow>" + "".join(parts) + "</mrow>"


def _mo(symbol: str) -> str:
    return f"<mo>{symbol}</mo>"


def _fenced(inner: str, left: str = "(", right: str = ")") -> str:
    return _mrow(_mo(left), inner, _mo(right))


def _mathml_word(word: str) -> str:
    greek = _greek(word)
    if greek is not None:
        return _mathml_greek(greek[1])
    if word.isdigit():
        return f"<mn>{word}</mn>"
    if len(word) == 1:
        return f"<mi>{_escape(word)}</mi>"
    # A several-letter <mi> is upright by default (like a function name); this one is a variable.
    return f'<mi mathvariant="italic">{_escape(word)}</mi>'


def _mathml_name(name: str) -> str:
    split = _split_subscript(name)
    if split is not None:
        return f"<msub>{_mathml_word(split[0])}{_mathml_word(split[1])}</msub>"
    return _mathml_word(name)


def _mathml_number(text: str) -> str:
    mantissa, exponent = _split_number(text)
    number = f"<mn>{_escape(mantissa)}</mn>"
    if exponent is None:
        return number
    power = f"<mn>{abs(exponent)}</mn>"
    if exponent < 0:
        power = _mrow(_mo("&#x2212;"), power)
    return _mrow(number, _mo("&#xD7;"), f"<msup><mn>10</mn>{power}</msup>")


def _mathml_operand(node: ast.Node, role: _Role) -> str:
    body = _mathml(node)
    if _visual_brackets(node, role):
        return _fenced(body)
    return body


_MATHML_OPERATORS = {"+": "+", "-": "&#x2212;", "*": "&#x22C5;"}


def _mathml(node: ast.Node) -> str:
    node = ast.strip_groups(node)
    if isinstance(node, ast.Number):
        return _mathml_number(node.text)
    if isinstance(node, ast.Name):
        return _mathml_name(node.name)
    if isinstance(node, ast.Constant):
        constant = CONSTANTS.get(node.name)
        return constant.mathml if constant is not None else _mathml_name(node.name)
    if isinstance(node, ast.Unary):
        return _mrow(_mo(_MATHML_OPERATORS[node.op]), _mathml_operand(node.operand, _R.UNARY))
    if isinstance(node, ast.Binary):
        left_role, right_role = _BINARY_ROLES[node.op]
        left = _mathml_operand(node.left, left_role)
        right = _mathml_operand(node.right, right_role)
        if node.op == "/":
            return f"<mfrac>{left}{right}</mfrac>"
        if node.op == "^":
            return f"<msup>{left}{right}</msup>"
        return _mrow(left, _mo(_MATHML_OPERATORS[node.op]), right)
    if isinstance(node, ast.Call):
        return _mathml_call(node)
    if isinstance(node, ast.Sequence):
        inner = _mathml_arguments(node.items)
        return _fenced(inner, "[", "]") if node.bracket == "[" else _fenced(inner)
    raise TypeError(f"cannot render {type(node).__name__}")


def _mathml_arguments(args: tuple[ast.Node, ...]) -> str:
    return _mrow('<mo separator="true">,</mo>'.join(_mathml(arg) for arg in args))


def _mathml_head(spec: FunctionSpec | None, name: str) -> str:
    """The function's name as the table's template writes it (Im for im, log with base 10)."""
    match = _TEMPLATE_HEAD.match(spec.latex) if spec is not None else None
    if match is None:
        return f"<mi>{_escape(name)}</mi>"
    word = f"<mi>{_escape(match['op'] or match['cmd'])}</mi>"
    if match["sub"]:
        word = f"<msub>{word}{_mathml_word(match['sub'])}</msub>"
    return word


def _mathml_call(node: ast.Call) -> str:
    spec = FUNCTIONS.get(node.name)
    args = _call_args(node, spec)
    style = spec.style if spec is not None else "apply"
    if style == "sqrt" and len(args) == 1:
        return f"<msqrt>{_mathml(args[0])}</msqrt>"
    if style == "root" and len(args) == 2:
        if _is_square_root_index(args[1]):
            return f"<msqrt>{_mathml(args[0])}</msqrt>"
        return f"<mroot>{_mathml(args[0])}{_mathml(args[1])}</mroot>"
    if style == "abs" and len(args) == 1:
        return _fenced(_mathml(args[0]), "|", "|")
    if style == "floor" and len(args) == 1:
        return _fenced(_mathml(args[0]), "&#x230A;", "&#x230B;")
    if style == "ceiling" and len(args) == 1:
        return _fenced(_mathml(args[0]), "&#x2308;", "&#x2309;")
    if style == "conjugate" and len(args) == 1:
        if _kind(args[0]) is _K.ATOM and type(ast.strip_groups(args[0])) is not ast.Call:
            return f'<mover accent="true">{_mathml(args[0])}<mo>&#xAF;</mo></mover>'
        # Browsers do not stretch an accent over a row: the bar of conjugate(a + b) sat over
        # the + alone and read as a -+ b. A longer argument is written out instead.
        return _mrow(_mathml_head(None, "conjugate"), _mo("&#x2061;"), _fenced(_mathml(args[0])))
    if style == "binomial" and len(args) == 2:
        fraction = f'<mfrac linethickness="0">{_mathml(args[0])}{_mathml(args[1])}</mfrac>'
        return _fenced(fraction)
    if style == "mod" and len(args) == 2:
        return _mrow(
            _mathml_operand(args[0], _R.MOD_ARG), _mo("mod"), _mathml_operand(args[1], _R.MOD_ARG)
        )
    # "apply", "log10" (the subscript comes from the template) and any style added later.
    return _mrow(_mathml_head(spec, node.name), _mo("&#x2061;"), _fenced(_mathml_arguments(args)))


# ------------------------------------------------------------------------------- text


def to_text(*items: ast.Node) -> str:
    """The learner syntax with the grader's reading spelled out in parentheses.

    >>> from mathgrader.language.parser import parse_tree
    >>> to_text(parse_tree("-x^2 + x/2*y").node)
    '-(x^2) + (x/2)*y'
    """
    return ", ".join(_text(item) for item in items)


def _text_operand(node: ast.Node, role: _Role) -> str:
    body = _text(node)
    if _kind(node) in _TEXT_PARENS[role]:
        return f"({body})"
    return body


def _text(node: ast.Node) -> str:
    node = ast.strip_groups(node)
    if isinstance(node, ast.Number):
        return node.text
    if isinstance(node, (ast.Name, ast.Constant)):
        return node.name
    if isinstance(node, ast.Unary):
        return node.op + _text_operand(node.operand, _R.UNARY)
    if isinstance(node, ast.Binary):
        left_role, right_role = _BINARY_ROLES[node.op]
        left = _text_operand(node.left, left_role)
        right = _text_operand(node.right, right_role)
        if node.op in {"+", "-"}:
            return f"{left} {node.op} {right}"
        return f"{left}{node.op}{right}"
    if isinstance(node, ast.Call):
        return f"{node.name}({', '.join(_text(arg) for arg in node.args)})"
    if isinstance(node, ast.Sequence):
        inner = ", ".join(_text(item) for item in node.items)
        return f"[{inner}]" if node.bracket == "[" else f"({inner})"
    raise TypeError(f"cannot render {type(node).__name__}")
