"""Learner text -> expression tree, with errors that teach.

The LALR parser (grammar/mathgrader.lark, compiled by Lark and run by `lalr`) builds `ast`
nodes while it parses, so no recursion happens on learner input. Before parsing, a pass over
the tokens finds the common mistakes (missing `*`, `sin x`, `sin^2(x)`, unknown functions,
unbalanced brackets) and names them with a hint; anything left is a located `syntax` error.
Text that is not ASCII is first read as the learner syntax by `unicode.read` (2×π -> 2*pi).
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..errors import InputError
from . import ast, lalr
from .lalr import Token
from .table import ALIASES, CONSTANTS, FUNCTIONS
from .unicode import read, unsupported_character

if TYPE_CHECKING:
    from lark import Lark

__all__ = ["Limits", "ParsedInput", "parse_tree", "write_tables"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Sizes refused before any work is done on them."""

    max_length: int = 2000
    max_depth: int = 60  # nesting of brackets and of operators in the tree
    max_literal_digits: int = 100
    max_literal_exponent: int = 400  # 1e400 is refused; larger values come from ^


DEFAULT_LIMITS = Limits()

# Readable names for the parser's terminals, used in "expected ..." messages.
_TOKEN_WORDS = {
    "NUMBER": "a number",
    "NAME": "a name",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "CARET": "'^'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "$END": "the end",
}
_OPERAND_END = {"NUMBER", "NAME", "RPAR", "RSQB"}
_OPERAND_START = {"NUMBER", "NAME", "LPAR", "LSQB"}
_OPENERS = {"LPAR": "RPAR", "LSQB": "RSQB"}
_CLOSERS = {"RPAR": "LPAR", "RSQB": "LSQB"}
_CHARACTER_HINTS = {
    "%": "% is not an operator here: for a percentage divide by 100, e.g. 52/100",
    "|": "write abs(x) for the absolute value |x|",
    "=": "enter an expression, not an equation: leave out the '=' and what is on its left",
    "<": "enter an expression, not an inequality",
    ">": "enter an expression, not an inequality",
    "!": "factorial is not available in this syntax",
    "{": "use round brackets ( ) for grouping",
    "}": "use round brackets ( ) for grouping",
    ".": "a decimal point needs digits after it, e.g. 0.5",
}


@dataclass(frozen=True, slots=True)
class ParsedInput:
    text: str
    items: tuple[ast.Node, ...]  # one node, or several for a comma-separated list
    notes: tuple[str, ...] = ()  # how pasted symbols were read ("read × as *"), for previews

    @property
    def node(self) -> ast.Node:
        return self.items[0]


def _grammar_text() -> str:
    # The wheel installs the grammar beside this module (pyproject's force-include); a plain
    # path, since importlib.resources costs a cold start more than reading the file.
    packaged = Path(__file__).with_name("mathgrader.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    # An editable checkout: the grammar lives in the top-level grammar/ folder.
    source = Path(__file__).resolve().parents[3] / "grammar" / "mathgrader.lark"
    return source.read_text(encoding="utf-8")


_Nodes = tuple[ast.Node, ...]


_SMALL_LIMIT = 1024
_SMALL_FRACTIONS = tuple(Fraction(n) for n in range(_SMALL_LIMIT))  # Fraction(5): 4.6k instructions


class _Builder:
    """Builds `ast` nodes inside the LALR parser (no recursion over the input): one method per
    rule alias of the grammar, called with the rule's children as `lalr.Parser` reduces it."""

    def number(self, token: Token) -> ast.Number:
        text = token.text
        is_decimal = "." in text or "e" in text
        # An integer skips Fraction's parsing of strings; sizes were checked by the token pass.
        # Small ones, nearly every literal typed, are shared (a Fraction is immutable).
        if is_decimal:
            value = Fraction(text)
        else:
            n = int(text)
            value = _SMALL_FRACTIONS[n] if n < _SMALL_LIMIT else Fraction(n)
        return ast.Number(token.start, token.end, text, value, is_decimal)

    def name(self, token: Token) -> ast.Node:
        if token.text in CONSTANTS:
            return ast.Constant(token.start, token.end, token.text)
        return ast.Name(token.start, token.end, token.text)

    def call(self, name: Token, _lpar: Token, args: list[ast.Node], rpar: Token) -> ast.Call:
        return ast.Call(name.start, rpar.end, name.text, tuple(args), name.end)

    def arguments(self, *parts: ast.Node | Token | None) -> list[ast.Node]:
        return [p for p in parts if isinstance(p, ast.Node)]

    def group(self, lpar: Token, inner: ast.Node, rpar: Token) -> ast.Group:
        return ast.Group(lpar.start, rpar.end, inner)

    def tuple(self, lpar: Token, *rest: ast.Node | Token) -> ast.Sequence:
        items = tuple(p for p in rest if isinstance(p, ast.Node))
        return ast.Sequence(lpar.start, rest[-1].end, items, "(")

    def bracket(self, lsqb: Token, *rest: ast.Node | Token) -> ast.Sequence:
        items = tuple(p for p in rest if isinstance(p, ast.Node))
        return ast.Sequence(lsqb.start, rest[-1].end, items, "[")

    def _binary(self, left: ast.Node, op: Token, right: ast.Node) -> ast.Binary:
        return ast.Binary(left.start, right.end, op.text, left, right)

    add = sub = mul = div = pow = _binary

    def _unary(self, op: Token, operand: ast.Node) -> ast.Unary:
        return ast.Unary(op.start, operand.end, op.text, operand)

    neg = pos = _unary

    def start(self, *parts: ast.Node | Token) -> _Nodes:
        return tuple(p for p in parts if isinstance(p, ast.Node))


def _check_literal(text: str, token: Token, limits: Limits) -> None:
    """Refuse a number literal too long, with too large an exponent, or (a decimal) beyond the
    range decimals are graded in. Called only for literals with an exponent or more characters
    than `max_literal_digits`: shorter plain ones are within every bound."""
    mantissa, _, exponent = token.text.partition("e")
    digits = len(mantissa.replace(".", "").lstrip("0"))
    if digits > limits.max_literal_digits or (
        bool(exponent) and abs(int(exponent)) > limits.max_literal_exponent
    ):
        raise _number_too_large(text, token, limits)
    if "." not in token.text and not exponent:
        return  # an integer: exact, any size up to the digits above
    order = _decimal_order(token.text)
    if order is not None and abs(order) > DECIMAL_ORDER:
        raise _decimal_out_of_range(text, token, order)


# Decimals are compared in floating point, whose range ends near 1e308 and 2.2e-308: a decimal
# literal beyond it would be graded as infinite or as 0 (1e-400 against -1e-400 was "correct").
# The leading digit's power of ten may be at most this far from 0.
DECIMAL_ORDER = 307


def _decimal_order(literal: str) -> int | None:
    """The power of ten of a decimal literal's leading digit: 2 for 123.4, -3 for 0.0012e0,
    -398 for 2.5e-400; None for zero.

    >>> _decimal_order("123.4"), _decimal_order("0.0012"), _decimal_order("2.5e-400")
    (2, -3, -400)
    """
    mantissa, _, exponent = literal.partition("e")
    whole, _, fraction = mantissa.partition(".")
    whole = whole.lstrip("0")
    if whole:
        order = len(whole) - 1
    else:
        significant = fraction.lstrip("0")
        if not significant:
            return None
        order = -(len(fraction) - len(significant) + 1)
    return order + (int(exponent) if exponent else 0)


def _decimal_out_of_range(text: str, token: Token, order: int) -> InputError:
    """The error for a decimal literal beyond floating point's range, with the same number
    written exactly (an integer times a power of ten) as the hint."""
    mantissa, _, exponent = token.text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0") or "0"
    power = (int(exponent) if exponent else 0) - len(fraction)
    trailing = len(digits) - len(digits.rstrip("0"))
    if trailing and digits.rstrip("0"):
        digits, power = digits.rstrip("0"), power + trailing
    exact = f"10^{power}" if power >= 0 else f"10^({power})"
    if digits != "1":
        exact = f"{digits}*{exact}"
    size = "large" if order > 0 else "small"
    bound = f"1e{DECIMAL_ORDER + 1}" if order > 0 else f"1e-{DECIMAL_ORDER}"
    return _error(
        f"number_too_{size}",
        f"This decimal number is too {size} to grade: decimals are compared in floating point,"
        f" which ends near {bound}. Write it exactly, without a decimal point.",
        text,
        token.start,
        token.end,
        hint=f"write {exact}",
    )


# How Lark compiles the grammar; `_grammar_key` covers them, so the tables file follows them.
_LARK_OPTIONS: dict[str, Any] = {"parser": "lalr", "lexer": "basic", "maybe_placeholders": True}
# The grammar's terminals and LALR tables as `lalr.export` gives them, with the key of the
# grammar they were exported from (`make tables` writes it again after the grammar changes).
TABLES_FILE = Path(__file__).with_name("grammar_tables.json")


@functools.cache
def _parser() -> Lark:
    """The grammar compiled by Lark: its terminals and LALR tables, which `lalr` runs (Lark
    itself never lexes or parses learner text). Built once, lazily, and only when the tables
    file does not match the grammar (or to write it); the cache holds one immutable object, not
    learner data."""
    from lark import Lark

    # The LALR analysis is cached on disk (keyed by grammar and options).
    return Lark(_grammar_text(), cache=True, **_LARK_OPTIONS)


def _grammar_key() -> str:
    """What the tables depend on: the grammar text, Lark's options and the export format."""
    text = _grammar_text().replace("\r\n", "\n")  # a checkout with CRLF endings is the same
    material = json.dumps([lalr.FORMAT, _LARK_OPTIONS, text], sort_keys=True)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


@functools.cache
def _tables() -> dict[str, Any]:
    """The lexer's and parser's data (`lalr.export`): read from `TABLES_FILE` when it was
    exported from this grammar, so that parsing never imports Lark (about a quarter of a
    `preview`'s cold start); otherwise built by Lark from the grammar itself."""
    key = _grammar_key()
    try:
        data = json.loads(TABLES_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if _usable(data, key):
        return cast(dict[str, Any], data)
    return {**lalr.export(_parser()), "grammar": key}


def _usable(data: object, key: str) -> bool:
    """Whether `data` is tables exported from the grammar with this key, in this format."""
    if not (isinstance(data, dict) and data.get("grammar") == key
            and data.get("format") == lalr.FORMAT):
        return False
    lexer, parser = data.get("lexer"), data.get("parser")
    return (isinstance(lexer, dict) and {"terminals", "ignore", "flags"} <= lexer.keys()
            and isinstance(parser, dict) and {"states", "rules", "start", "end"} <= parser.keys())


def write_tables(path: Path = TABLES_FILE) -> Path:
    """Export the grammar's tables from Lark to `path` (`make tables`, after editing the
    grammar; a test fails while the file is out of date). The grammar is compiled afresh, not
    taken from Lark's disk cache; `lalr.export` numbers the tables in an order of its own, so
    the same grammar always gives the same file."""
    from lark import Lark

    data = {**lalr.export(Lark(_grammar_text(), **_LARK_OPTIONS)), "grammar": _grammar_key()}
    partial = path.with_name(path.name + ".tmp")  # written whole, then renamed over the file
    partial.write_text(json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n",
                       encoding="utf-8")
    partial.replace(path)
    return path


@functools.cache
def _lexer() -> lalr.Lexer:
    return lalr.Lexer.from_spec(_tables()["lexer"])


@functools.cache
def _lalr() -> lalr.Parser:
    return lalr.Parser.from_spec(_tables()["parser"], _Builder())


def _error(
    code: str, message: str, text: str, start: int, end: int | None = None, hint: str | None = None
) -> InputError:
    end = start + 1 if end is None else end
    return InputError(code, message, column=start + 1, end_column=end + 1, hint=hint, text=text)


def parse_tree(
    text: str,
    *,
    variables: Collection[str] = (),
    allow_list: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> ParsedInput:
    """Parse learner text into an expression tree, or raise a located `InputError`.

    `variables` are names the question declares: `k(x+1)` is then a missing `*` even for a
    longer name. `allow_list` accepts a top-level comma-separated list (`2, -3`).

    >>> parse_tree("2*x^2").node.op
    '*'
    >>> parse_tree("3x").node
    Traceback (most recent call last):
    mathgrader.errors.InputError: A '*' is missing between 3 and x.
    """
    if not isinstance(text, str):
        raise InputError("syntax", "The answer must be text.")
    if len(text) > limits.max_length:
        raise InputError(
            "too_long",
            f"The answer is {len(text)} characters long; at most {limits.max_length} are allowed.",
            column=limits.max_length + 1,
            end_column=len(text) + 1,
            hint="shorten the expression",
        )
    if not text.strip():
        raise InputError("empty", "The answer is empty.", column=1, hint="type an expression")
    if text.isascii():  # nearly every answer: no reading, no offsets to move
        return _parse(text, frozenset(variables), allow_list, limits)
    # Pasted symbols (2×π, x², √2) are read as the learner syntax first; errors and the tree's
    # offsets are then moved back onto the learner's own columns.
    reading = read(text)
    try:
        parsed = _parse(reading.text, frozenset(variables), allow_list, limits, reading.column)
    except InputError as exc:
        raise reading.relocate(exc) from None
    return ParsedInput(text, reading.relocate_nodes(parsed.items), reading.notes)


def _parse(
    text: str,
    variables: frozenset[str],
    allow_list: bool,
    limits: Limits,
    column: Callable[[int], int] = lambda offset: offset + 1,
) -> ParsedInput:
    """Parse ASCII learner syntax; `column` names the learner's column of an offset in `text`
    for messages that quote one."""
    _check_characters(text)
    tokens = _tokens(text)
    _check_tokens(text, tokens, variables, limits, column)
    try:
        items = cast(_Nodes, _lalr().parse(tokens))  # the builder makes the nodes
    except lalr.UnexpectedToken as exc:
        raise _syntax_error(text, exc) from None
    if len(tokens) > limits.max_depth or _MAY_FAIL_TREE_CHECK.search(text) is not None:
        for item in items:
            _check_tree(text, item, limits)
    if len(items) > 1 and not allow_list:
        comma = next(t for t in tokens if t.type == "COMMA" and _depth_at(tokens, t) == 0)
        hint = "enter a single expression"
        first, second = items[0], items[-1]
        if (
            len(items) == 2
            and isinstance(first, ast.Number)
            and isinstance(second, ast.Number)
            and not first.is_decimal
            and not second.is_decimal
        ):
            hint = f"for a decimal number use a point: {first.text}.{second.text}"
        raise _error(
            "unexpected_list",
            "Only one expression is expected here, but the answer is a list.",
            text,
            comma.start,
            hint=hint,
        )
    return ParsedInput(text, items)


def _number_too_large(text: str, token: Token, limits: Limits) -> InputError:
    return _error(
        "number_too_large",
        "This number is too large to grade.",
        text,
        token.start,
        token.end,
        hint=f"use a number with at most {limits.max_literal_digits} digits and an exponent of"
        f" at most e{limits.max_literal_exponent}",
    )


# Every character the learner syntax uses; what is left gets a message of its own.
_OTHER_CHARACTER = re.compile(r"[^A-Za-z0-9 \t\r\n+\-*/^()\[\],._]")


def _check_characters(text: str) -> None:
    found = _OTHER_CHARACTER.search(text)  # one scan in C: nearly every answer has none
    if found is None:
        return
    offset, char = found.start(), found.group()
    if not char.isascii() or not char.isprintable():  # NUL and other controls
        raise unsupported_character(text, offset)
    hint = _CHARACTER_HINTS.get(char)
    raise _error("syntax", f"Unexpected character {char!r}.", text, offset, hint=hint)


def _tokens(text: str) -> list[Token]:
    try:
        return _lexer().lex(text)
    except lalr.UnexpectedCharacter as exc:
        offset = exc.offset
        char = text[offset] if offset < len(text) else ""
        hint = _CHARACTER_HINTS.get(char)
        if char == "." or char.isdigit():
            hint = _CHARACTER_HINTS["."]
        raise _error(
            "syntax", f"Unexpected character {char!r}.", text, offset, hint=hint
        ) from None


def _depth_at(tokens: Sequence[Token], target: Token) -> int:
    depth = 0
    for token in tokens:
        if token is target:
            return depth
        if token.type in _OPENERS:
            depth += 1
        elif token.type in _CLOSERS:
            depth -= 1
    return depth


def _matching_index(tokens: Sequence[Token], index: int) -> int | None:
    """Index of the token closing the bracket at `index`, or None when it is never closed."""
    depth = 0
    for j in range(index, len(tokens)):
        kind = tokens[j].type
        if kind in _OPENERS:
            depth += 1
        elif kind in _CLOSERS:
            depth -= 1
            if depth == 0:
                return j
    return None


def _opening_index(tokens: Sequence[Token], index: int) -> int:
    """Index of the bracket opening the one that closes at `index`."""
    depth = 0
    for j in range(index, -1, -1):
        kind = tokens[j].type
        if kind in _CLOSERS:
            depth += 1
        elif kind in _OPENERS:
            depth -= 1
            if depth == 0:
                return j
    return 0


def _balanced(fragment: str) -> str:
    """`fragment` with its brackets matched, (x] -> (x), and those left open closed, so that a
    hint quoting it parses."""
    missing: list[str] = []
    out: list[str] = []
    for char in fragment:
        if char in "([":
            missing.append(")" if char == "(" else "]")
        elif char in ")]" and missing:
            char = missing.pop()
        out.append(char)
    return "".join(out) + "".join(reversed(missing))


def _round(fragment: str) -> str:
    """[x+1] -> (x+1): square brackets group nothing but the list argument of gcd/lcm."""
    if fragment.startswith("[") and fragment.endswith("]"):
        return f"({fragment[1:-1]})"
    return fragment


def _bracketed(text: str, tokens: Sequence[Token], index: int) -> str:
    """The learner's text of the bracket opening at `index`, closed when the learner did not."""
    close = _matching_index(tokens, index)
    end = tokens[close].end if close is not None else len(text.rstrip())
    return _balanced(text[tokens[index].start : end])


def _is_call(tokens: Sequence[Token], index: int) -> bool:
    return index + 1 < len(tokens) and tokens[index + 1].type == "LPAR"


def _is_empty_bracket(tokens: Sequence[Token], index: int) -> bool:
    return (
        tokens[index].type in _OPENERS
        and index + 1 < len(tokens)
        and tokens[index + 1].type in _CLOSERS
    )


def _empty_brackets(text: str, opener: Token, closer: Token) -> InputError:
    return _error(
        "syntax",
        "The brackets are empty.",
        text,
        opener.start,
        closer.end,
        hint="put an expression inside the brackets, or remove them",
    )


def _left_operand(text: str, tokens: Sequence[Token], index: int) -> str:
    """The operand that ends at token `index`, as a hint may quote it."""
    token = tokens[index]
    if token.type not in _CLOSERS:
        if index >= 2 and tokens[index - 1].type == "CARET" and token.type == "NUMBER":
            # an exponent: x^2y (or x²y) -> x^2*y, where "2*y" would quote what was not typed
            return f"{_left_operand(text, tokens, index - 2)}^{token.text}"
        return token.text
    opener = _opening_index(tokens, index)
    fragment = text[tokens[opener].start : token.end]
    # A call's name belongs to the operand: sin(x)(x+1) -> sin(x)*(x+1).
    before = tokens[opener - 1] if opener > 0 else None
    if before is not None and before.type == "NAME" and before.end == tokens[opener].start:
        return text[before.start : token.start] + token.text
    return _round(fragment)


def _right_operand(text: str, tokens: Sequence[Token], index: int) -> str:
    """The operand that starts at token `index`, as a hint may quote it."""
    token = tokens[index]
    if token.type in _OPENERS:
        return _round(_bracketed(text, tokens, index))
    if token.type == "NAME" and token.text in FUNCTIONS and _is_call(tokens, index):
        return token.text + _bracketed(text, tokens, index + 1)
    return token.text


def _check_tokens(
    text: str,
    tokens: Sequence[Token],
    variables: frozenset[str],
    limits: Limits,
    column: Callable[[int], int],
) -> None:
    """Find the leftmost common mistake in the token stream and explain it."""
    stack: list[Token] = []
    last = len(tokens) - 1
    for i, token in enumerate(tokens):
        kind = token.type
        after = tokens[i + 1] if i < last else None
        # A token has one kind, so one of these branches applies; the commonest come first.
        if kind == "NUMBER":
            if "e" in token.text or len(token.text) > limits.max_literal_digits:
                _check_literal(text, token, limits)
        elif kind == "NAME":
            _check_name(text, tokens, i, variables)
        elif kind in _OPENERS:
            stack.append(token)
            if len(stack) > limits.max_depth:
                raise _error(
                    "too_deep",
                    f"The brackets are nested more than {limits.max_depth} levels deep.",
                    text,
                    token.start,
                    hint="simplify the expression before entering it",
                )
        elif kind in _CLOSERS:
            if not stack:
                raise _error(
                    "unbalanced_parentheses",
                    f"There is no opening bracket for this '{token.text}'.",
                    text,
                    token.start,
                    hint=f"remove this '{token.text}' or add the '{'(' if kind == 'RPAR' else '['}'"
                    " it closes",
                )
            opener = stack.pop()
            if _OPENERS[opener.type] != kind:
                raise _error(
                    "unbalanced_parentheses",
                    f"'{opener.text}' at column {column(opener.start)} is closed by"
                    f" '{token.text}'.",
                    text,
                    token.start,
                    hint=f"close '{opener.text}' with '{')' if opener.type == 'LPAR' else ']'}'",
                )
            previous = tokens[i - 1]
            if previous.type in _OPENERS:
                is_call = i >= 2 and tokens[i - 2].type == "NAME"
                if not is_call:
                    raise _empty_brackets(text, previous, token)
        elif kind == "STAR" and after is not None and after.type == "STAR":
            raise _error(
                "syntax",
                "'**' is not an operator here; powers are written with ^.",
                text,
                token.start,
                after.end,
                hint="write x^2 for x squared",
            )
        if after is not None and kind in _OPERAND_END and after.type in _OPERAND_START:
            _check_adjacent(text, tokens, i)
    if stack:
        opener = stack[-1]
        closer = ")" if opener.type == "LPAR" else "]"
        raise _error(
            "unbalanced_parentheses",
            f"The '{opener.text}' at column {column(opener.start)} is never closed.",
            text,
            opener.start,
            hint=f"add a '{closer}' where the bracketed part ends",
        )


_SCIENTIFIC_E = re.compile(r"E(\d*)")


def _check_adjacent(text: str, tokens: Sequence[Token], i: int) -> None:
    """Two operands side by side (token `i` ends one, the next starts another)."""
    token, after = tokens[i], tokens[i + 1]
    if token.type == "NAME" and (after.type == "LPAR" or token.text in FUNCTIONS):
        return  # a call, or a function name: _check_name judged it
    if after.type == "NAME" and after.text in FUNCTIONS and not _is_call(tokens, i + 1):
        return  # 2 sin x: the function without brackets is reported at its name
    touching = token.end == after.start
    if token.type == "NUMBER" and touching:
        if after.type == "NUMBER" and after.text.startswith("."):
            raise _error(
                "syntax",
                "A number can have only one decimal point.",
                text,
                after.start,
                after.start + 1,
                hint=f"use one decimal point, e.g. {token.text}",
            )
        if after.type == "NAME" and "e" not in token.text:
            _check_scientific(text, tokens, i)
    if _is_empty_bracket(tokens, i + 1):
        raise _empty_brackets(text, after, tokens[i + 2])
    left = _left_operand(text, tokens, i)
    right = _right_operand(text, tokens, i + 1)
    raise _error(
        "implicit_multiplication",
        f"A '*' is missing between {left} and {right}.",
        text,
        after.start,
        after.end,
        hint=f"write {left}*{right}",
    )


def _check_scientific(text: str, tokens: Sequence[Token], i: int) -> None:
    """2.5E-3 and 2E5: scientific notation with an uppercase E (which is Euler's number)."""
    number, name = tokens[i], tokens[i + 1]
    match = _SCIENTIFIC_E.fullmatch(name.text)
    if match is None:
        return
    end = name.end
    exponent = match.group(1)
    if not exponent and i + 3 < len(tokens):
        sign, digits = tokens[i + 2], tokens[i + 3]
        if (
            sign.type in {"MINUS", "PLUS"}
            and digits.type == "NUMBER"
            and digits.text.isdigit()
            and name.end == sign.start
            and sign.end == digits.start
        ):
            exponent = f"{sign.text}{digits.text}"
            end = digits.end
    if not exponent:
        return
    written = f"{number.text}e{exponent}"
    raise _error(
        "syntax",
        f"For a power of ten, write a lowercase e: {written}. An uppercase E is Euler's number.",
        text,
        name.start,
        end,
        hint=f"write {written}",
    )


def _argument_after(text: str, tokens: Sequence[Token], j: int) -> tuple[str, int | None]:
    """What most likely is the argument of a function written without brackets at token `j`,
    in brackets, and the offset where it ends (None: nothing was taken from the text)."""
    if j >= len(tokens):
        return "(x)", None
    token = tokens[j]
    if token.type == "LSQB":
        argument = _round(_bracketed(text, tokens, j))
        close = _matching_index(tokens, j)
        return argument, tokens[close].end if close is not None else len(text.rstrip())
    if token.type in {"MINUS", "PLUS"} and j + 1 < len(tokens):
        # sin -x is sin(-x); in sin - x the sign is an operator.
        operand = tokens[j + 1]
        if operand.type in {"NAME", "NUMBER"} and token.end == operand.start:
            inner, end = _argument_after(text, tokens, j + 1)
            if end is not None:
                return f"({token.text}{inner[1:-1]})", end
        return "(x)", None
    if token.type == "NUMBER" or (token.type == "NAME" and token.text not in FUNCTIONS):
        return f"({token.text})", token.end
    if token.type == "NAME" and _is_call(tokens, j):
        inner = token.text + _bracketed(text, tokens, j + 1)
        close = _matching_index(tokens, j + 1)
        return f"({inner})", tokens[close].end if close is not None else None
    return "(x)", None


def _check_name(text: str, tokens: Sequence[Token], i: int, variables: frozenset[str]) -> None:
    token = tokens[i]
    name = token.text
    after = tokens[i + 1] if i + 1 < len(tokens) else None
    calls = after is not None and after.type == "LPAR"
    if name in FUNCTIONS:
        if calls:
            return
        if after is not None and after.type == "CARET":
            raise _function_power(text, tokens, i)
        spec = FUNCTIONS[name]
        argument, end = _argument_after(text, tokens, i + 1)
        if spec.min_args == 1 or (after is not None and after.type == "LSQB"):
            message = f"{name} is a function: put its argument in brackets."
            hint = f"write {name}{argument}"  # gcd[4, 6] -> gcd(4, 6)
        else:
            message = f"{name} is a function: put its arguments in brackets."
            hint = f"put the arguments in brackets, e.g. {spec.example}"
        raise _error(
            "function_without_parentheses",
            message,
            text,
            token.start,
            end if end is not None else token.end,
            hint=hint,
        )
    if not calls:
        return
    assert after is not None
    inside = _bracketed(text, tokens, i + 1)
    if len(name) == 1 or name in CONSTANTS or name in variables:
        if _is_empty_bracket(tokens, i + 1):
            raise _empty_brackets(text, after, tokens[i + 2])
        raise _error(
            "implicit_multiplication",
            f"A '*' is missing between {name} and {inside}; {name} is not a function.",
            text,
            after.start,
            after.end,
            hint=f"write {name}*{inside}",
        )
    raise _unknown_function(text, token, inside)


def _function_power(text: str, tokens: Sequence[Token], i: int) -> InputError:
    """sin^2(x): the power goes after the argument, sin(x)^2."""
    name = tokens[i].text
    caret = tokens[i + 1]
    # The exponent: signs, then a number, a name or a bracketed group.
    k = i + 2
    while k < len(tokens) and tokens[k].type in {"MINUS", "PLUS"}:
        k += 1
    exponent_end: int | None = None  # index just after the exponent's last token
    if k < len(tokens):
        kind = tokens[k].type
        if kind == "NUMBER" or (kind == "NAME" and tokens[k].text not in FUNCTIONS):
            exponent_end = k + 1
        elif kind == "LPAR":
            close = _matching_index(tokens, k)
            exponent_end = close + 1 if close is not None else None
    if exponent_end is None:
        exponent, end, argument = "2", caret.end, "(x)"
    else:
        exponent = text[tokens[i + 2].start : tokens[exponent_end - 1].end]
        end = tokens[exponent_end - 1].end
        if exponent_end < len(tokens) and tokens[exponent_end].type in _OPENERS:
            argument = _round(_bracketed(text, tokens, exponent_end))
        else:
            argument, _ = _argument_after(text, tokens, exponent_end)
    hint = f"write {name}{argument}^{_wrap_exponent(exponent)}"
    inverse = _INVERSES.get(name)
    if exponent.replace(" ", "") in {"-1", "(-1)", "-(1)"} and inverse is not None:
        hint += f" (or, for the inverse function, {inverse}{argument})"
    return _error(
        "function_power",
        f"A power of {name} is written after its argument.",
        text,
        tokens[i].start,
        end,
        hint=hint,
    )


_INVERSES = {
    "sin": "asin", "cos": "acos", "tan": "atan", "cot": "acot",
    "sinh": "asinh", "cosh": "acosh", "tanh": "atanh", "coth": "acoth",
}


def _wrap_exponent(exponent: str) -> str:
    exponent = exponent.strip()
    if exponent.isalnum() or _is_one_group(exponent):
        return exponent
    return f"({exponent})"


def _is_one_group(fragment: str) -> bool:
    """True for (a+b), false for (a)+(b)."""
    if not (fragment.startswith("(") and fragment.endswith(")")):
        return False
    depth = 0
    for offset, char in enumerate(fragment):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
            if depth == 0 and offset < len(fragment) - 1:
                return False
    return depth == 0


# Derived from the table once: every unknown function name a learner types is looked up here.
_LOWERCASE_FUNCTIONS = {f.lower(): f for f in FUNCTIONS}
_FUNCTIONS_LONGEST_FIRST = sorted(FUNCTIONS, key=len, reverse=True)
_CLOSE_MATCH = 0.8


def suggest_function(name: str) -> tuple[str | None, str]:
    """The function a learner probably meant by `name`, and a note (either may be empty)."""
    if name in ALIASES:
        return ALIASES[name]
    if name.lower() in _LOWERCASE_FUNCTIONS:
        return _LOWERCASE_FUNCTIONS[name.lower()], "function names are lowercase"
    if name.lower() in ALIASES:
        return ALIASES[name.lower()]
    for function in _FUNCTIONS_LONGEST_FIRST:
        if name.endswith(function) and len(name) > len(function):
            prefix = name[: -len(function)]
            if prefix.isalpha():
                return None, f"{prefix}*{function}"
    # difflib's own first test (its real_quick_ratio, the same arithmetic), applied before it
    # builds a matcher for each of the ~40 functions: the same answer at a fraction of the cost.
    lengths_close = [
        f for f in FUNCTIONS
        if 2.0 * min(len(f), len(name)) / (len(f) + len(name)) >= _CLOSE_MATCH
    ]
    close = difflib.get_close_matches(name, lengths_close, n=1, cutoff=_CLOSE_MATCH)
    if close:
        return close[0], ""
    return None, ""


def _unknown_function(text: str, token: Token, inside: str) -> InputError:
    name = token.text
    replacement, note = suggest_function(name)
    message = f"{name} is not a function the grader knows."
    empty = inside.replace(" ", "") == "()"
    argument = "(x)" if empty else inside
    if replacement is not None:
        message = f"{name} is not a function the grader knows; did you mean {replacement}?"
        if note:
            message += f" ({note})"
        hint = f"write {replacement}{argument}"
    elif note and "*" in note and " " not in note:
        message = f"{name} is not a function the grader knows; a '*' may be missing."
        hint = f"write {note}{argument}"
    elif note:
        message = f"{name} is not available in this syntax."
        hint = note.split(": ", 1)[-1] if ": " in note else note
    elif empty:
        hint = (
            f"if {name} is a variable, leave out the empty brackets; the functions you can use "
            "are listed in the help center"
        )
    else:
        hint = (
            f"if {name} is a variable, write {name}*{inside}; the functions you can use are "
            "listed in the help center"
        )
    return _error("unknown_function", message, text, token.start, token.end, hint=hint)


def _syntax_error(text: str, exc: lalr.UnexpectedToken) -> InputError:
    token = exc.token
    if token.type == lalr.END:
        last = text.rstrip()
        offset = max(len(last) - 1, 0)
        return _error(
            "syntax",
            f"The expression ends too early, after '{last[-1:]}'.",
            text,
            offset,
            len(last),
            hint=f"complete the expression after '{last[-1:]}', or remove it",
        )
    expected = sorted({_TOKEN_WORDS[t] for t in exc.expected if t in _TOKEN_WORDS})
    offset, shown = token.start, token.text
    message = f"Unexpected '{shown}'."
    if expected:
        message += f" Expected {_join(expected)} here."
    hint = None
    if shown == ",":
        hint = "a comma separates the arguments of a function, e.g. max(1, 2)"
    elif shown in {"+", "*", "/", "^", ")", "]"}:
        hint = f"something is missing before '{shown}'"
    return _error("syntax", message, text, offset, offset + max(len(shown), 1), hint=hint)


def _join(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


# What `_check_tree` can refuse besides depth: a list (it needs '[' or a comma) or a call (a name,
# then '('). Without them, and with no more tokens than `max_depth` (a tree has at most one node
# per token, so it is no deeper), the walk cannot find anything: most answers skip it.
_MAY_FAIL_TREE_CHECK = re.compile(r"[\[,]|[A-Za-z0-9_][ \t\r\n]*\(")


def _check_tree(text: str, root: ast.Node, limits: Limits) -> None:
    """Depth, arity and placement of lists: what the grammar alone does not say.

    Nodes are visited parents first, left to right, so the leftmost mistake is reported.
    """
    stack: list[tuple[ast.Node, int, ast.Node | None]] = [(root, 1, None)]
    while stack:
        node, depth, parent = stack.pop()
        if depth > limits.max_depth:
            raise _error(
                "too_deep",
                # A sum of 61 terms is 61 levels too, with no bracket in sight: say so.
                f"The expression is nested more than {limits.max_depth} levels deep (each"
                " operation in a row, like each bracket or function, is a level).",
                text,
                node.start,
                node.end,
                hint="group a long sum or product in brackets, e.g. (a + b + c) + (d + e), or"
                " simplify the expression before entering it",
            )
        if isinstance(node, ast.Sequence) and not _is_list_argument(node, parent):
            raise _error(
                "syntax",
                "A list in brackets is only allowed as the argument of gcd or lcm.",
                text,
                node.start,
                node.end,
                hint="use ( ) for grouping one expression, e.g. (x+1)",
            )
        if isinstance(node, ast.Call):
            _check_call(text, node)
        # Every node counts, a+b+c+... too: evaluators may recurse over the tree. (A loop, not
        # a generator: this runs for every node of every answer.)
        for child in reversed(node.children()):
            stack.append((child, depth + 1, node))


def _is_list_argument(node: ast.Sequence, parent: ast.Node | None) -> bool:
    return (
        isinstance(parent, ast.Call)
        and parent.args == (node,)
        and parent.name in FUNCTIONS
        and FUNCTIONS[parent.name].list_form
    )


def _check_call(text: str, node: ast.Call) -> None:
    spec = FUNCTIONS.get(node.name)
    if spec is None:  # already reported by the token pass; kept as a safety net
        raise _unknown_function(
            text, Token("NAME", node.name, node.start, node.name_end), "(...)"
        )
    count = len(node.args)
    if spec.list_form and count == 1 and isinstance(node.args[0], ast.Sequence):
        if len(node.args[0].items) < 1:
            raise _error("wrong_arity", f"{node.name} needs at least one value in its list.",
                         text, node.start, node.end)
        return
    if spec.accepts(count):
        return
    args_text = ", ".join(text[a.start : a.end] for a in node.args)
    if spec.list_form and count > 2:
        hint = f"write {node.name}(({args_text}))"
    elif spec.name == "root" and count == 1:
        hint = f"write root({args_text}, 2) or sqrt({args_text})"
    elif spec.max_args == 1 and count > 1:
        hint = f"give {node.name} one argument, e.g. {spec.example}"
    else:
        hint = f"for example {spec.example}"
    raise _error(
        "wrong_arity",
        f"{node.name} takes {spec.arity_text()}, but was given {count}.",
        text,
        node.start,
        node.end,
        hint=hint,
    )
