"""The preview: LaTeX, MathML and explicit text of what the learner typed, never evaluated."""

from __future__ import annotations

import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mathgrader import InputError, grade
from mathgrader.language import ast
from mathgrader.language.limits import check_sizes
from mathgrader.language.parser import parse_tree
from mathgrader.language.preview import Preview, preview
from mathgrader.language.render import MATHML_NAMESPACE, STYLES, to_latex, to_mathml, to_text
from mathgrader.language.table import CONSTANTS, FUNCTIONS, VARIABLE_WARNINGS

M = f"{{{MATHML_NAMESPACE}}}"  # ElementTree's spelling of the MathML namespace


def _shape(node: ast.Node) -> Any:
    """The tree as nested tuples, without positions and without the learner's parentheses."""
    node = ast.strip_groups(node)
    if isinstance(node, ast.Number):
        return ("number", node.text, node.value, node.is_decimal)
    if isinstance(node, ast.Name):
        return ("name", node.name)
    if isinstance(node, ast.Constant):
        return ("constant", node.name)
    if isinstance(node, ast.Unary):
        return ("unary", node.op, _shape(node.operand))
    if isinstance(node, ast.Binary):
        return ("binary", node.op, _shape(node.left), _shape(node.right))
    if isinstance(node, ast.Call):
        return ("call", node.name, tuple(_shape(arg) for arg in node.args))
    if isinstance(node, ast.Sequence):
        return ("sequence", node.bracket, tuple(_shape(item) for item in node.items))
    raise AssertionError(f"unexpected node {node!r}")


def _same_tree(first: str, second: str, *, allow_list: bool = False) -> bool:
    a = parse_tree(first, allow_list=allow_list).items
    b = parse_tree(second, allow_list=allow_list).items
    return [_shape(n) for n in a] == [_shape(n) for n in b]


def _balanced_braces(latex: str) -> bool:
    depth = 0
    escaped = False
    for char in latex:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _mathml_tree(mathml: str) -> ET.Element:
    root = ET.fromstring(mathml)
    assert root.tag == f"{M}math"
    assert root.get("display") == "block"
    return root


# ------------------------------------------------------------------------- the table


def _call_text(name: str, count: int) -> str:
    return f"{name}({', '.join('xyzw'[:count])})"


FUNCTION_CALLS = [
    (_call_text(spec.name, count), spec.name, count)
    for spec in FUNCTIONS.values()
    for count in sorted({spec.min_args, spec.max_args or spec.min_args + 1})
]


@pytest.mark.parametrize(
    ("text", "name", "count"), FUNCTION_CALLS, ids=[c[0] for c in FUNCTION_CALLS]
)
def test_every_function_uses_its_table_template(text: str, name: str, count: int) -> None:
    spec = FUNCTIONS[name]
    args = list("xyzw"[:count])
    shown = preview(text)
    assert shown.latex == spec.latex.format(*args, args=", ".join(args))
    assert _balanced_braces(shown.latex)
    assert "{0}" not in shown.latex and "{args}" not in shown.latex
    root = _mathml_tree(shown.mathml)
    drawn = [element.text for element in root.iter(f"{M}mi")]
    for arg in args:
        assert arg in drawn
    assert shown.text == text
    assert shown.variables == args


def test_every_style_in_the_table_is_drawn() -> None:
    assert {spec.style for spec in FUNCTIONS.values()} <= STYLES


@pytest.mark.parametrize("name", list(CONSTANTS), ids=list(CONSTANTS))
def test_every_constant_is_drawn_from_the_table(name: str) -> None:
    spec = CONSTANTS[name]
    shown = preview(name)
    assert shown.latex == spec.latex
    assert shown.mathml.endswith(f'display="block">{spec.mathml}</math>')
    _mathml_tree(shown.mathml)
    assert shown.text == name
    assert shown.variables == []
    assert shown.warnings == []


# ------------------------------------------------------------------------- LaTeX

LATEX_PAIRS = [
    ("x/2*y", r"\frac{x}{2} \cdot y"),
    ("x/(2*y)", r"\frac{x}{2 \cdot y}"),
    ("a/b/c", r"\frac{\frac{a}{b}}{c}"),
    ("a/(b/c)", r"\frac{a}{\frac{b}{c}}"),
    ("-x^2", r"-x^{2}"),
    ("(-x)^2", r"\left(-x\right)^{2}"),
    ("2^3^2", r"2^{3^{2}}"),
    ("(2^3)^2", r"\left(2^{3}\right)^{2}"),
    ("(a^b)^c", r"\left(a^{b}\right)^{c}"),
    ("x^-1", r"x^{-1}"),
    ("x^(-1)", r"x^{-1}"),
    ("x^+1", r"x^{+1}"),
    ("2^-3^2", r"2^{-3^{2}}"),
    ("2*(-3)", r"2 \cdot \left(-3\right)"),
    ("2*-3", r"2 \cdot \left(-3\right)"),
    ("-2*3", r"-2 \cdot 3"),
    ("-(2*3)", r"-\left(2 \cdot 3\right)"),
    ("--x", r"-\left(-x\right)"),
    ("+x", r"+x"),
    ("a-(b-c)", r"a - \left(b - c\right)"),
    ("a-b-c", r"a - b - c"),
    ("a-(-b)", r"a - \left(-b\right)"),
    ("a*(b*c)", r"a \cdot \left(b \cdot c\right)"),
    ("(a+b)*c", r"\left(a + b\right) \cdot c"),
    ("((x))", "x"),
    ("(x+1)/(x-1)", r"\frac{x + 1}{x - 1}"),
    ("(x/y)^2", r"\left(\frac{x}{y}\right)^{2}"),
    ("x^(1/2)", r"x^{\frac{1}{2}}"),
    ("2.5e-3", r"2.5 \times 10^{-3}"),
    ("2.5e-3^2", r"\left(2.5 \times 10^{-3}\right)^{2}"),
    ("1e+5", r"1 \times 10^{5}"),
    (".5", "0.5"),
    ("3.14", "3.14"),
    ("log(x)", r"\log_{10}\left(x\right)"),
    ("ln(x)", r"\ln\left(x\right)"),
    ("root(a, 3)", r"\sqrt[3]{a}"),
    ("root(a, 2)", r"\sqrt{a}"),
    ("root(a, 2.0)", r"\sqrt[2.0]{a}"),
    ("sqrt(x+1)", r"\sqrt{x + 1}"),
    ("abs(x-1)", r"\left|x - 1\right|"),
    ("floor(x)", r"\left\lfloor x \right\rfloor"),
    ("ceiling(x)", r"\left\lceil x \right\rceil"),
    ("conjugate(z)", r"\overline{z}"),
    ("binomial(n, k)", r"\binom{n}{k}"),
    ("gcd(a, b)", r"\gcd\left(a, b\right)"),
    ("gcd((a, b, c))", r"\gcd\left(a, b, c\right)"),
    ("lcm([4, 6, 8])", r"\operatorname{lcm}\left(4, 6, 8\right)"),
    ("mod(10, 3)", r"10 \bmod 3"),
    ("mod(a+b, c)", r"\left(a + b\right) \bmod c"),
    ("mod(a/b, -c)", r"\frac{a}{b} \bmod \left(-c\right)"),
    ("2*mod(a, b)", r"2 \cdot \left(a \bmod b\right)"),
    ("mod(a, b)^2", r"\left(a \bmod b\right)^{2}"),
    ("sin(x)^2", r"\sin\left(x\right)^{2}"),
    ("im(z)", r"\operatorname{Im}\left(z\right)"),
    ("J", r"\mathrm{i}"),
    ("I*J", r"\mathrm{i} \cdot \mathrm{i}"),
    ("E^x", r"\mathrm{e}^{x}"),
    ("e^x", r"e^{x}"),
    ("alpha + theta_1", r"\alpha + \theta_{1}"),
    ("Omega", r"\Omega"),
    ("xy", r"\mathit{xy}"),
    ("x_max", r"x_{\mathit{max}}"),
    ("x_1_2", r"\mathit{x\_1\_2}"),
    ("phi", r"\mathit{phi}"),  # \phi is GoldenRatio; a variable must not look like it
    ("gamma", r"\mathit{gamma}"),  # \gamma is EulerGamma
    ("Pi", r"\mathit{Pi}"),  # has a warning: shown as typed, not as a capital Greek letter
]


@pytest.mark.parametrize(("text", "latex"), LATEX_PAIRS, ids=[p[0] for p in LATEX_PAIRS])
def test_latex(text: str, latex: str) -> None:
    assert preview(text).latex == latex


# ------------------------------------------------------------------------- plain text

TEXT_PAIRS = [
    ("-x^2", "-(x^2)"),
    ("(-x)^2", "(-x)^2"),
    ("2^3^2", "2^(3^2)"),
    ("(2^3)^2", "(2^3)^2"),
    ("x/2*y", "(x/2)*y"),
    ("x/(2*y)", "x/(2*y)"),
    ("a/b/c", "(a/b)/c"),
    ("a/(b/c)", "a/(b/c)"),
    ("a*b/c", "(a*b)/c"),
    ("a*b*c", "a*b*c"),
    ("a*(b*c)", "a*(b*c)"),
    ("a-(b-c)", "a - (b - c)"),
    ("a-b-c", "a - b - c"),
    ("a+b*c", "a + b*c"),
    ("(a+b)*c", "(a + b)*c"),
    ("(a^b)^c", "(a^b)^c"),
    ("a^b^c", "a^(b^c)"),
    ("x^-1", "x^(-1)"),
    ("x^+1", "x^(+1)"),
    ("2^-3^2", "2^(-(3^2))"),
    ("-(x+1)", "-(x + 1)"),
    ("-x+1", "-x + 1"),
    ("2*-3", "2*(-3)"),
    ("2*(-3)", "2*(-3)"),
    ("-2*3", "-2*3"),
    ("-(2*3)", "-(2*3)"),
    ("-a/b", "-a/b"),
    ("-(a/b)", "-(a/b)"),
    ("--x", "-(-x)"),
    ("a--b", "a - (-b)"),
    ("a+-b", "a + (-b)"),
    ("((x))", "x"),
    ("(x)+(y)", "x + y"),
    ("  x   *  y ", "x*y"),
    ("1e3^2", "(1e3)^2"),
    ("2.50 + .5", "2.50 + .5"),
    ("sin(-x^2)", "sin(-(x^2))"),
    ("gcd((a, b, c))", "gcd((a, b, c))"),
    ("lcm([4, 6])", "lcm([4, 6])"),
    ("max(1, x/2*y, 3)", "max(1, (x/2)*y, 3)"),
    ("mod(a+b, c)", "mod(a + b, c)"),
    ("J*E", "J*E"),
]


@pytest.mark.parametrize(("text", "expected"), TEXT_PAIRS, ids=[p[0] for p in TEXT_PAIRS])
def test_plain_text_makes_precedence_explicit(text: str, expected: str) -> None:
    shown = preview(text).text
    assert shown == expected
    assert _same_tree(shown, text)
    assert preview(shown).text == shown  # already explicit: a second pass changes nothing


def test_a_list_is_drawn_item_by_item() -> None:
    shown = preview("2, -3, x/2*y", allow_list=True)
    assert shown.text == "2, -3, (x/2)*y"
    assert shown.latex == r"2, -3, \frac{x}{2} \cdot y"
    row = _mathml_tree(shown.mathml)[0]
    assert row.tag == f"{M}mrow"
    separators = [el for el in row if el.tag == f"{M}mo" and el.text == ","]
    assert len(separators) == 2
    assert _same_tree(shown.text, "2, -3, x/2*y", allow_list=True)


def test_a_list_is_refused_unless_allowed() -> None:
    with pytest.raises(InputError) as caught:
        preview("2, -3")
    assert caught.value.code == "unexpected_list"


@pytest.mark.parametrize("text", ["3x", "sin x", "(x+1", "x +", ""], ids=str)
def test_bad_input_raises_the_parsers_error(text: str) -> None:
    with pytest.raises(InputError):
        preview(text)


# ------------------------------------------------------------------------- MathML

MATHML_CASES = [
    "x/2*y",
    "-x^2 + 2*(-3)",
    "(a^b)^c",
    "2.5e-3^2",
    "root(a, 3) + root(a, 2) + sqrt(x)",
    "abs(x) + floor(x) + ceiling(x) + conjugate(z) + binomial(n, k)",
    "mod(a+b, c)*2",
    "log(x) + ln(x) + im(z) + atan2(y, x)",
    "gcd((a, b, c)) + lcm([1, 2])",
    "alpha*x_1*xy*zoo*EulerGamma",
]


@pytest.mark.parametrize("text", MATHML_CASES, ids=str)
def test_mathml_is_well_formed(text: str) -> None:
    root = _mathml_tree(preview(text).mathml)
    assert len(root) == 1  # one child: a single expression row
    for element in root.iter():
        assert element.tag.startswith(M)
        name = element.tag.removeprefix(M)
        if name in {"msup", "msub", "mfrac", "mroot", "mover"}:
            assert len(element) == 2, name  # these take exactly two arguments


def test_mathml_structure_follows_the_tree() -> None:
    root = _mathml_tree(preview("x/2*y").mathml)
    row = root[0]
    assert [child.tag.removeprefix(M) for child in row] == ["mfrac", "mo", "mi"]
    assert row[1].text == "\u22c5"
    power = _mathml_tree(preview("2^3^2").mathml)[0]
    assert power.tag == f"{M}msup"
    assert power[1].tag == f"{M}msup"  # the exponent is itself a power: 2^(3^2)
    root3 = _mathml_tree(preview("root(a, 3)").mathml)[0]
    assert root3.tag == f"{M}mroot" and root3[1].text == "3"
    assert _mathml_tree(preview("root(a, 2)").mathml)[0].tag == f"{M}msqrt"
    log = _mathml_tree(preview("log(x)").mathml)[0]
    assert log[0].tag == f"{M}msub"
    assert [el.text for el in log[0]] == ["log", "10"]
    assert _mathml_tree(preview("alpha").mathml)[0].text == "\u03b1"
    assert _mathml_tree(preview("J").mathml)[0].text == "i"


def test_mathml_and_latex_escape_names() -> None:
    # The parser only makes names of letters, digits and _, but the renderer must not trust it.
    node = ast.Binary(0, 1, "+", ast.Name(0, 1, 'a<b&c"d'), ast.Name(0, 1, "x{y}%z"))
    mathml = to_mathml(node)
    root = _mathml_tree(mathml)
    assert "<b&" not in mathml
    assert [el.text for el in root.iter(f"{M}mi")] == ['a<b&c"d', "x{y}%z"]
    latex = to_latex(node)
    assert latex == r'\mathit{a<b\&c"d} + \mathit{x\{y\}\%z}'
    assert _balanced_braces(latex)
    assert to_text(node) == 'a<b&c"d + x{y}%z'


# ------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("text", "variables"),
    [
        ("z + pi*a + E + y*a", ["a", "y", "z"]),
        ("I*J + oo - zoo + nan", []),
        ("b*B + alpha + x_1", ["B", "alpha", "b", "x_1"]),
        ("sin(theta) + gcd((m, n))", ["m", "n", "theta"]),
        ("3", []),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_variables_are_sorted_and_exclude_constants(text: str, variables: list[str]) -> None:
    assert preview(text).variables == variables


@pytest.mark.parametrize("name", sorted(VARIABLE_WARNINGS), ids=str)
def test_each_warned_name_gets_its_warning(name: str) -> None:
    shown = preview(f"2*{name}")
    assert shown.warnings == [VARIABLE_WARNINGS[name]]
    assert shown.variables == [name]


def test_warnings() -> None:
    shown = preview("e^x + i*e - Pi + inf")
    assert shown.warnings == [
        VARIABLE_WARNINGS["Pi"],
        VARIABLE_WARNINGS["e"],
        VARIABLE_WARNINGS["i"],
        VARIABLE_WARNINGS["inf"],
    ]
    assert "Euler's number is E" in shown.warnings[1]
    assert preview("E^x + I*pi + oo").warnings == []
    # A question that declares e as a variable means it: no warning for that name.
    assert preview("e*i", variables=["e"]).warnings == [VARIABLE_WARNINGS["i"]]


def test_preview_value() -> None:
    shown = preview("x/2*y")
    assert isinstance(shown, Preview)
    assert shown.to_dict() == {
        "latex": r"\frac{x}{2} \cdot y",
        "mathml": shown.mathml,
        "text": "(x/2)*y",
        "variables": ["x", "y"],
        "warnings": [],
    }
    with pytest.raises(AttributeError):
        shown.text = "changed"  # type: ignore[misc]


def test_the_package_entry_point_previews() -> None:
    import mathgrader

    assert mathgrader.preview("-x^2").text == "-(x^2)"


# ------------------------------------------------------------------------- never evaluated

HUGE = ["9^9^9^9", "binomial(10^9, 5*10^8)", "10^10^10", "(10^10^10)^(10^10^10)", "2^2^2^2^2^2^2^2",
        "exp(10^5)", "2^20000"]


@pytest.mark.parametrize("text", HUGE, ids=str)
def test_what_grading_refuses_as_too_large_the_preview_refuses_too(text: str) -> None:
    # It used to draw them: a learner saw a clean preview, then "too large to grade" on submit.
    preview("x")  # the parser is built once, lazily; do not time that
    started = time.perf_counter()
    with pytest.raises(InputError) as refused:
        preview(text)
    assert time.perf_counter() - started < 0.5  # estimated in log space, never evaluated
    graded = grade("1", text).error
    assert graded is not None
    assert refused.value.to_dict() == graded


@pytest.mark.parametrize("text", ["10^3999", "x^10000", "exp(100)*E^(-20000)", "binomial(10^5, 3)"])
def test_large_values_the_grader_takes_preview(text: str) -> None:
    assert grade("1", text).verdict in ("correct", "incorrect")
    assert _same_tree(preview(text).text, text)


def test_deeply_nested_input_renders() -> None:
    text = "-(" * 29 + "x" + ")" * 29
    assert preview(text).text == "-(" * 28 + "-x" + ")" * 28
    nested = "(" * 55 + "x" + ")" * 55
    assert preview(nested).latex == "x"


def test_preview_imports_neither_sympy_nor_numpy() -> None:
    code = (
        "import sys\n"
        "import mathgrader\n"
        "from mathgrader.language.preview import preview\n"
        "preview('binomial(10^5, 3) + 9^9 + sin(x)/E')\n"
        "mathgrader.preview('10^10^3')\n"
        "print(sorted(m for m in ('sympy', 'numpy', 'mpmath') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


# ------------------------------------------------------------------------- property

_NAMES = ["x", "y", "a", "t", "alpha", "theta", "x_1", "xy", "e", "i", "Pi", "B"]

_numbers = st.one_of(
    st.integers(0, 10**12).map(str),
    st.tuples(st.integers(0, 999), st.integers(0, 999)).map(lambda p: f"{p[0]}.{p[1]}"),
    st.integers(0, 99).map(lambda n: f".{n}"),
    st.tuples(st.integers(1, 9), st.sampled_from(["e", "e-", "e+"]), st.integers(0, 30)).map(
        lambda p: f"{p[0]}{p[1]}{p[2]}"
    ),
)
_leaves = st.one_of(_numbers, st.sampled_from(_NAMES), st.sampled_from(sorted(CONSTANTS)))


@st.composite
def _expressions(draw: st.DrawFn, depth: int = 4) -> str:
    """Learner-syntax text from the grammar. Operands are joined without brackets unless a
    coin says otherwise, so the parser's precedence decides the tree; any such join is valid
    syntax because a sign may always start an operand."""
    kind = (
        "leaf"
        if depth == 0
        else draw(st.sampled_from(["leaf", "binary", "binary", "unary", "group", "call"]))
    )
    if kind == "leaf":
        return draw(_leaves)
    if kind == "unary":
        return draw(st.sampled_from("-+")) + draw(_expressions(depth - 1))
    if kind == "group":
        return f"({draw(_expressions(depth - 1))})"
    if kind == "binary":
        parts = []
        for _ in range(2):
            part = draw(_expressions(depth - 1))
            parts.append(f"({part})" if draw(st.booleans()) else part)
        return parts[0] + draw(st.sampled_from("+-*/^")) + parts[1]
    spec = draw(st.sampled_from(sorted(FUNCTIONS.values(), key=lambda s: s.name)))
    if spec.list_form and draw(st.booleans()):
        bracket = draw(st.sampled_from("(["))
        low = 2 if bracket == "(" else 1  # (a) would be brackets around one value, not a list
        items = draw(st.lists(_expressions(depth - 1), min_size=low, max_size=3))
        close = ")" if bracket == "(" else "]"
        return f"{spec.name}({bracket}{', '.join(items)}{close})"
    high = spec.max_args if spec.max_args is not None else spec.min_args + 1
    count = draw(st.integers(spec.min_args, min(high, spec.min_args + 1)))
    args = [draw(_expressions(depth - 1)) for _ in range(count)]
    return f"{spec.name}({', '.join(args)})"


PROPERTY = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,  # the same examples on every run and machine
    suppress_health_check=[HealthCheck.too_slow],
)


@PROPERTY
@given(st.lists(_expressions(), min_size=1, max_size=3))
def test_generated_expressions_preview_and_reparse_to_the_same_tree(items: list[str]) -> None:
    text = ", ".join(items)
    allow_list = len(items) > 1
    try:
        shown = preview(text, allow_list=allow_list)
    except InputError as refused:  # a value the grader refuses too (2^10^10): nothing drawn
        assert refused.code == "number_too_large"
        with pytest.raises(InputError):
            for item in parse_tree(text, allow_list=True).items:
                check_sizes(item, text)
        return
    assert _same_tree(shown.text, text, allow_list=allow_list)
    assert preview(shown.text, allow_list=allow_list).text == shown.text
    assert _balanced_braces(shown.latex)
    _mathml_tree(shown.mathml)
    names = {
        n.name
        for i in parse_tree(text, allow_list=True).items
        for n in ast.walk(i)
        if isinstance(n, ast.Name)
    }
    assert shown.variables == sorted(names)


@pytest.mark.parametrize(("text", "warning"), [
    ("ln5/ln3", "ln5 is a variable here; for the function write ln(5)"),
    ("sinx", "sinx is a variable here; for the function write sin(x)"),
    ("sin2x", "sin2x is a variable here; for the function write sin(2*x)"),
    ("sinhx", "sinhx is a variable here; for the function write sinh(x)"),  # the longest name
    ("log10", "log10 is a variable here; for the function write log(10)"),
])
def test_a_function_name_run_into_its_argument_is_pointed_out(text: str, warning: str) -> None:
    assert warning in preview(text).warnings


@pytest.mark.parametrize("text", ["radius", "sin_x", "cos2ab", "maxima", "x2"])
def test_ordinary_names_that_start_like_a_function_get_no_warning(text: str) -> None:
    assert preview(text).warnings == []


def test_a_declared_variable_that_looks_like_a_call_gets_no_warning() -> None:
    assert preview("sinx + 1", variables=["sinx"]).warnings == []
