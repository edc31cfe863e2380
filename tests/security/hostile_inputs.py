"""The hostile-input table shared by the security tests (core, CLI, batch and the audit run).

Each row is something an attacker (or a careless paste) may send as an answer, or hide in a
reference: code injection in the forms that run code in `eval`/`sympify`-based graders, sizes no
evaluator can finish, nesting and length beyond the parser's limits, and bytes that are not
text. A row says what the language must do with it: refuse it with a located error (`refused`),
or read it as an honest expression (then it is graded like any other answer).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

# Every code a learner-facing error may carry (README "Error codes", plus the Unicode reader's).
ERROR_CODES = frozenset({
    "syntax", "unbalanced_parentheses", "implicit_multiplication", "unknown_function",
    "function_without_parentheses", "function_power", "wrong_arity", "unexpected_list", "empty",
    "too_long", "too_deep", "number_too_large", "number_too_small", "unsupported_character",
})
SIZE_CODES = frozenset({"too_long", "too_deep", "number_too_large", "number_too_small"})


@dataclass(frozen=True)
class Hostile:
    text: str
    name: str  # the test id: the text itself when it is short and printable
    kind: str  # injection | size | nesting | bytes
    # True: parse() must raise InputError; False: it must build a value; None: either (the
    # Unicode reader may read it, e.g. a full-width x, or refuse it).
    refused: bool | None
    codes: frozenset[str] = ERROR_CODES  # the codes parse() may raise for it
    equals_x: bool = False  # an answer equal to x (graded correct against "x")
    bug: str | None = None  # a known bug: the row's grading is expected to fail (strict xfail)
    bug_roles: frozenset[str] = frozenset()  # where the bug shows: see ROLES
    hangs: bool = False  # the known bug is a hang: only run where a hard kill guards it

    def marks(self, role: str) -> list[pytest.MarkDecorator]:
        """A strict xfail where the row's known bug shows: fixing the bug turns it red, so
        the mark (and the row's `bug`) must then go."""
        assert role in ROLES, role
        if self.bug and role in self.bug_roles:
            return [pytest.mark.xfail(strict=True, reason=self.bug)]
        return []


# Where a row is graded: as the answer (API, `check`), as the reference (API, `check`, a key's
# answer), in `grade-batch` (both, in worker processes), as a key's accept example (`key lint`,
# in-process with that key's options).
ROLES = frozenset({"answer", "reference", "batch", "lint-accept"})


def _id(text: str) -> str:
    if len(text) <= 48 and text.isascii() and text.isprintable():
        return text
    shown = text[:24].encode("unicode_escape").decode("ascii")
    return f"{shown}...[{len(text)} chars]" if len(text) > 24 else shown


def row(text: str, kind: str, refused: bool | None, codes: frozenset[str] = ERROR_CODES,
        *, name: str | None = None, equals_x: bool = False, bug: str | None = None,
        bug_roles: frozenset[str] = ROLES, hangs: bool = False) -> Hostile:
    return Hostile(text, name or _id(text), kind, refused, codes, equals_x, bug,
                   bug_roles if bug else frozenset(), hangs)


def _nested(depth: int, opener: str = "(", closer: str = ")", inner: str = "x") -> str:
    return opener * depth + inner + closer * depth


_FORMAT = frozenset({"syntax", "unsupported_character"})
_NAMES = frozenset({"syntax", "unknown_function", "implicit_multiplication",
                    "function_without_parentheses", "unbalanced_parentheses", "wrong_arity",
                    "unsupported_character"})
_TOO_LARGE = frozenset({"number_too_large"})
_TOO_LONG = frozenset({"too_long"})
_TOO_DEEP = frozenset({"too_deep"})

INJECTION = [
    row("__import__('os').system('id')", "injection", True, _NAMES),
    row("__import__", "injection", True, _NAMES),
    row("().__class__.__bases__[0].__subclasses__()", "injection", True, _NAMES),
    row("x.__class__", "injection", True, _NAMES),
    row("x.__class__.__mro__", "injection", True, _NAMES),
    row("sin.__globals__", "injection", True, _NAMES),
    row("E.__class__", "injection", True, _NAMES),
    row("__builtins__", "injection", True, _NAMES),
    row("__class__", "injection", True, _NAMES),
    row("_", "injection", True, _NAMES),
    row("lambda: 1", "injection", True, _NAMES),
    row("(lambda: 0)()", "injection", True, _NAMES),
    row("lambda x: x", "injection", True, _NAMES),
    row('f"{x}"', "injection", True, _NAMES),
    row("f'{__import__(\"os\").system(\"id\")}'", "injection", True, _NAMES),
    row("'%s' % x", "injection", True, _NAMES),
    row("{}.format", "injection", True, _NAMES),
    row("'{0.__class__}'.format(x)", "injection", True, _NAMES),
    row("exec('1')", "injection", True, _NAMES),
    row("eval(x)", "injection", True, _NAMES),
    row("eval('1+1')", "injection", True, _NAMES),
    row("compile('1', '', 'eval')", "injection", True, _NAMES),
    row("getattr(x, 'y')", "injection", True, _NAMES),
    row("open('/etc/passwd')", "injection", True, _NAMES),
    row("open('/etc/passwd').read()", "injection", True, _NAMES),
    row("globals()", "injection", True, _NAMES),
    row("breakpoint()", "injection", True, _NAMES),
    row("print(1)", "injection", True, _NAMES),
    row("import os", "injection", True, _NAMES),
    row("Symbol('x')", "injection", True, _NAMES),
    row("Integer(2)", "injection", True, _NAMES),
    row("sympify(x)", "injection", True, _NAMES),
    row("sympify('x')", "injection", True, _NAMES),
    row("S(1)", "injection", True, _NAMES),
    row("N(pi, 10^6)", "injection", True, _NAMES),
    row("Float('1e1000000')", "injection", True, _NAMES),
    row("Function('f')(x)", "injection", True, _NAMES),
    row("x.evalf()", "injection", True, _NAMES),
    row("pi.evalf(10^6)", "injection", True, _NAMES),
    row("x.subs(x, 1)", "injection", True, _NAMES),
    row("`x`", "injection", True, _NAMES),
    row("x; y", "injection", True, _NAMES),
    row("x;__import__('os')", "injection", True, _NAMES),
    row("x\ny", "injection", True, _NAMES, name="x\\ny"),
    row("x\n__import__('os').system('id')", "injection", True, _NAMES,
        name="x\\n__import__('os').system('id')"),
    row("x if 1 else y", "injection", True, _NAMES),
    row("[i for i in x]", "injection", True, _NAMES),
    row("x := 1", "injection", True, _NAMES),
    row("x[0]", "injection", True, _NAMES),
    row("{x: 1}", "injection", True, _NAMES),
    row("x**2", "injection", True, _NAMES),
    row("x//2", "injection", True, _NAMES),
    row("x % 2", "injection", True, _NAMES),
    row("~x", "injection", True, _NAMES),
    row("x & y", "injection", True, _NAMES),
    row("x << 2", "injection", True, _NAMES),
    row("not x", "injection", True, _NAMES),
    row("x == x", "injection", True, _NAMES),
    row("1j", "injection", True, _NAMES),
    row("0x1F", "injection", True, _NAMES),
    row("'x'", "injection", True, _NAMES),
    row("\\x", "injection", True, _NAMES),
    row("@x", "injection", True, _NAMES),
    row("$x", "injection", True, _NAMES),
    row("x # comment", "injection", True, _NAMES),
    row("...", "injection", True, _NAMES),
]

# Python and SymPy names that the learner syntax reads as plain variables: harmless symbols.
NAMES = ["eval", "exec", "sympify", "open", "os", "system", "Symbol", "Integer", "True", "None",
         "Ellipsis", "self"]

SIZE = [
    row("2^2^2^2^2^2^2", "size", True, _TOO_LARGE),
    row("x^x^x^x^x^x", "size", False),
    row("10^10^10", "size", True, _TOO_LARGE),
    row("9^9^9", "size", True, _TOO_LARGE),
    row("9^9^9^9", "size", True, _TOO_LARGE),
    row("binomial(10^100, 10^50)", "size", True, _TOO_LARGE),
    row("binomial(100000, 50000)", "size", True, _TOO_LARGE),
    row("binomial(2000, 1000)", "size", False),
    row("gcd(10^5000, 3)", "size", True, _TOO_LARGE),
    row("1" * 99, "size", False, name="99-digit literal"),
    row("1" * 101, "size", True, _TOO_LARGE, name="101-digit literal"),
    row("1" * 3999, "size", True, _TOO_LONG, name="3999-digit literal"),
    row("1" * 4001, "size", True, _TOO_LONG, name="4001-digit literal"),
    row("1" * 10**6, "size", True, _TOO_LONG, name="10^6-digit literal"),
    # decimals beyond floating point's range: graded as infinite or 0, so refused
    row("1e400", "size", True, _TOO_LARGE),
    row("x + 2e308", "size", True, _TOO_LARGE),
    row("1e308", "size", True, _TOO_LARGE),
    row("9.9e307", "size", False),
    row("1e-400", "size", True, frozenset({"number_too_small"})),
    row("1e401", "size", True, _TOO_LARGE),
    row("1e-401", "size", True, _TOO_LARGE),
    row("10^3999", "size", False),
    row("10^4001", "size", True, _TOO_LARGE),
    row("1/10^4001", "size", True, _TOO_LARGE),
    row("(10^2000)^3", "size", True, _TOO_LARGE),
    row("exp(exp(exp(1000)))", "size", True, _TOO_LARGE),
    row("exp(exp(exp(1000.0)))", "size", True, _TOO_LARGE),
    row("exp(exp(10))", "size", True, _TOO_LARGE),
    row("sinh(sinh(sinh(1000)))", "size", True, _TOO_LARGE),
    row("cosh(cosh(cosh(1000)))", "size", True, _TOO_LARGE),
    row("2^sinh(sinh(1000))", "size", True, _TOO_LARGE),
    row("x^exp(exp(10))", "size", True, _TOO_LARGE),
    row("tan(exp(exp(100)))", "size", True, _TOO_LARGE),
    row("E^E^E^E^E^E", "size", True, _TOO_LARGE),
    row("sin(10^4000)", "size", False),
    row("sin(10^4001)", "size", True, _TOO_LARGE),
    row("1/0", "size", False),
    row("0^0", "size", False),
    row("0/0", "size", False),
    row("0^(-1)", "size", False),
    row("oo - oo", "size", False),
    row("oo/oo", "size", False),
    row("zoo^zoo", "size", False),
    row("nan", "size", False),
    row("nan^0", "size", False),
    row("root(2, 10^9)", "size", False),
    row("root(10^100, 1/10^5)", "size", True, _TOO_LARGE),
    row("x^(10^10)", "size", True, _TOO_LARGE),
    row("x^(10^4)", "size", False),
    row("(x+1)^(10^4)", "size", False),
    row("mod(10^4000, 7)", "size", False),
    row("mod(10^4001, 7)", "size", True, _TOO_LARGE),
    row("floor(10^4000/3)", "size", False),
    row("floor(10^4001/3)", "size", True, _TOO_LARGE),
    row("lcm((10^1000, 10^1000+1, 10^1000+3, 10^1000+7, 10^1000+9))", "size", True, _TOO_LARGE),
    row("I^(10^100)", "size", False),
    row("(-1)^(10^100)", "size", False),
    row("E^(-20000)", "size", False),
    row("exp(x)^exp(x)", "size", False),
    row("exp(exp(exp(x)))", "size", False),
    row("exp(exp(exp(exp(x))))", "size", False),
    row("binomial(x^10, 50000)", "size", False),
    # Past 2^16384 mpmath refuses to reduce or exponentiate (it used to run out of memory or
    # compute for minutes): the value has overflowed every float long before.
    row("cosh(cosh(cosh(cosh(x))))", "size", False),
    row("sin(exp(exp(x)))", "size", False),
    row("tan(exp(exp(exp(x))))", "size", False),
    row("x^exp(exp(exp(x)))", "size", False),
]

NESTING = [
    row(_nested(59), "nesting", False, name="59 nested brackets", equals_x=True),
    row(_nested(60), "nesting", True, _TOO_DEEP, name="60 nested brackets"),
    row(_nested(61), "nesting", True, _TOO_DEEP, name="61 nested brackets"),
    row(_nested(10_000), "nesting", True, _TOO_LONG, name="10000 nested brackets"),
    row(_nested(59, "sin("), "nesting", False, name="59 nested calls"),
    row(_nested(60, "sin("), "nesting", True, _TOO_DEEP, name="60 nested calls"),
    row(_nested(61, "sin("), "nesting", True, _TOO_DEEP, name="61 nested calls"),
    row(_nested(10_000, "sin("), "nesting", True, _TOO_LONG, name="10000 nested calls"),
    row(_nested(60, "[", "]"), "nesting", True, _FORMAT | _TOO_DEEP,
        name="60 nested square brackets"),
    row("-" * 58 + "x", "nesting", False, name="58 unary minus", equals_x=True),
    row("-" * 61 + "x", "nesting", True, _TOO_DEEP, name="61 unary minus"),
    row("-" * 1999 + "x", "nesting", True, _TOO_DEEP, name="1999 unary minus"),
    row("+".join(["x"] * 59), "nesting", False, name="59-term sum"),
    row("+".join(["x"] * 62), "nesting", True, _TOO_DEEP, name="62-term sum"),
    row("+".join(["x"] * 10_000), "nesting", True, _TOO_LONG, name="10000-term sum"),
    row("x" + "^x" * 70, "nesting", True, _TOO_DEEP, name="power tower of 71 x"),
    row("(" * 1_000_000, "nesting", True, _TOO_LONG, name="1 MB of brackets"),
    row("x" * 10_000, "nesting", True, _TOO_LONG, name="10 kB name"),
    row("1+" * 5_000 + "1", "nesting", True, _TOO_LONG, name="10 kB sum"),
    row("1+" * 500_000 + "1", "nesting", True, _TOO_LONG, name="1 MB sum"),
    row("x" * 2000, "nesting", False, name="2000-character name"),
    # Graded after "x" was (the tests grade it first): the cache of respaced answers must not
    # answer it before the length limit does.
    row(" " * 5000 + "x", "nesting", True, _TOO_LONG, name="5000 spaces then x"),
]

BYTES = [
    row("\x00", "bytes", True, _FORMAT),
    row("x\x00", "bytes", True, _FORMAT),
    row("x\x00+1", "bytes", True, _FORMAT),
    row("\x01", "bytes", True, _FORMAT),
    row("x\x7f", "bytes", True, _FORMAT),
    row("\x1b[2Jx", "bytes", True, _FORMAT),
    row("x\x08\x08y", "bytes", True, _FORMAT),
    row("x\x0b+1", "bytes", True, _FORMAT),
    row("x\x0c+1", "bytes", True, _FORMAT),
    row("x\x85+1", "bytes", True, _FORMAT),
    row("\ud800", "bytes", True, _FORMAT),
    row("x+\udfff", "bytes", True, _FORMAT),
    row("x+\udcff", "bytes", True, _FORMAT),  # an invalid byte under surrogateescape
    row(b"x+\xff\xfe".decode("utf-8", "replace"), "bytes", True, _FORMAT),
    row(b"\xc3\x28+x".decode("utf-8", "replace"), "bytes", True, _FORMAT),
    row(b"\xed\xa0\x80".decode("utf-8", "replace"), "bytes", True, _FORMAT),
    row("x\u202e+1", "bytes", True, _FORMAT),  # RIGHT-TO-LEFT OVERRIDE
    row("\u2066x\u2069", "bytes", True, _FORMAT),  # isolates
    row("x\u200b+1", "bytes", True, _FORMAT),  # ZERO WIDTH SPACE
    row("x\u200d", "bytes", True, _FORMAT),  # ZERO WIDTH JOINER
    row("\u0445+1", "bytes", True, _FORMAT),  # CYRILLIC SMALL LETTER HA, looks like x
    row("\U0001d465+1", "bytes", True, _FORMAT),  # MATHEMATICAL ITALIC SMALL X
    row("\u2179", "bytes", True, _FORMAT),  # SMALL ROMAN NUMERAL TEN
    row("x\u0301", "bytes", True, _FORMAT),  # a combining accent
    row("\U0001f600", "bytes", True, _FORMAT),
    row("x\uffff", "bytes", True, _FORMAT),
    row("\U0010ffff", "bytes", True, _FORMAT),
    row("\ufeffx+1", "bytes", None),  # a BOM: may be refused or dropped
    row("\uff58+1", "bytes", None),  # FULLWIDTH x: may be read as x
    row("x\u00a0+1", "bytes", None),  # NO-BREAK SPACE
    row("x\t+\r\n1", "bytes", False),
]

TABLE: list[Hostile] = [*INJECTION, *SIZE, *NESTING, *BYTES]
BY_NAME = {item.name: item for item in TABLE}
assert len(BY_NAME) == len(TABLE), "row names must be unique"
