"""Learner text -> expression tree, with errors that teach.

The LALR parser (grammar/mathgrader.lark) builds `ast` nodes while it parses, so no recursion
happens on learner input. Before parsing, a pass over the tokens finds the common mistakes
(missing `*`, `sin x`, `sin^2(x)`, unknown functions, unbalanced brackets) and names them with a
hint; anything left is a located `syntax` error. Lark's exceptions never leave this module.
Text that is not ASCII is first read as the learner syntax by `unicode.read` (2×π -> 2*pi).
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any, cast

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput
from lark.lexer import BasicLexer, Lexer, LexerState
from lark.utils import TextSlice

from ..errors import InputError
from . import ast
from .table import ALIASES, CONSTANTS, FUNCTIONS
from .unicode import read, unsupported_character

__all__ = ["Limits", "ParsedInput", "parse_tree"]


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
    packaged = resources.files("mathgrader.language").joinpath("mathgrader.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    # An editable checkout: the grammar lives in the top-level grammar/ folder.
    source = Path(__file__).resolve().parents[3] / "grammar" / "mathgrader.lark"
    return source.read_text(encoding="utf-8")


def _start(token: Token) -> int:
    return int(token.start_pos or 0)  # always set on lexer tokens; lark types it Optional


def _end(token: Token) -> int:
    return int(token.end_pos or 0)


def _span(*parts: Any) -> tuple[int, int]:
    starts, ends = [], []
    for part in parts:
        if isinstance(part, Token):
            starts.append(_start(part))
            ends.append(_end(part))
        elif isinstance(part, ast.Node):
            starts.append(part.start)
            ends.append(part.end)
    return min(starts), max(ends)


_Nodes = tuple[ast.Node, ...]


@v_args(inline=True)
class _Builder(Transformer[Token, Any]):
    """Builds `ast` nodes inside the LALR parser (no recursion over the input)."""

    def number(self, token: Token) -> ast.Number:
        text = str(token)
        return ast.Number(
            _start(token),
            _end(token),
            text,
            Fraction(text),  # sizes were checked by the token pass
            "." in text or "e" in text,
        )

    def name(self, token: Token) -> ast.Node:
        if str(token) in CONSTANTS:
            return ast.Constant(_start(token), _end(token), str(token))
        return ast.Name(_start(token), _end(token), str(token))

    def call(self, name: Token, _lpar: Token, args: list[ast.Node], rpar: Token) -> ast.Call:
        return ast.Call(_start(name), _end(rpar), str(name), tuple(args), _end(name))

    def arguments(self, *parts: Any) -> list[ast.Node]:
        return [p for p in parts if isinstance(p, ast.Node)]

    def group(self, lpar: Token, inner: ast.Node, rpar: Token) -> ast.Group:
        return ast.Group(_start(lpar), _end(rpar), inner)

    def tuple(self, lpar: Token, *rest: Any) -> ast.Sequence:
        items = tuple(p for p in rest if isinstance(p, ast.Node))
        return ast.Sequence(_start(lpar), _end(rest[-1]), items, "(")

    def bracket(self, lsqb: Token, *rest: Any) -> ast.Sequence:
        items = tuple(p for p in rest if isinstance(p, ast.Node))
        return ast.Sequence(_start(lsqb), _end(rest[-1]), items, "[")

    def _binary(self, left: ast.Node, op: Token, right: ast.Node) -> ast.Binary:
        return ast.Binary(*_span(left, right), str(op), left, right)

    add = sub = mul = div = pow = _binary

    def _unary(self, op: Token, operand: ast.Node) -> ast.Unary:
        return ast.Unary(*_span(op, operand), str(op), operand)

    neg = pos = _unary

    def start(self, *parts: Any) -> _Nodes:
        return tuple(p for p in parts if isinstance(p, ast.Node))


def _literal_too_large(token: Token, limits: Limits) -> bool:
    mantissa, _, exponent = str(token).partition("e")
    digits = len(mantissa.replace(".", "").lstrip("0"))
    return digits > limits.max_literal_digits or (
        bool(exponent) and abs(int(exponent)) > limits.max_literal_exponent
    )


@functools.cache
def _parser() -> Lark:
    # Built once, lazily; the cache holds one immutable parser, not learner data.
    return Lark(
        _grammar_text(),
        parser="lalr",
        lexer=_Replay,
        transformer=_Builder(),
        propagate_positions=False,
        maybe_placeholders=True,
        # The LALR analysis is cached on disk (keyed by grammar and options): a CLI that
        # previews one expression starts in a fraction of the time.
        cache=True,
    )


@functools.cache
def _lexer() -> Lexer:
    # One basic lexer over the parser's own terminals, built once (Lark.lex() would rebuild
    # one per call, and a second Lark instance would analyse the grammar again).
    return BasicLexer(_parser().lexer_conf)


class _Replay(Lexer):
    """Feeds the parser the tokens the checks already lexed, so text is lexed once."""

    def __init__(self, conf: Any) -> None:
        pass

    def lex(self, data: Any) -> Iterator[Token]:  # type: ignore[override]
        yield from data


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
        items = cast(_Nodes, _parser().parse(tokens))  # the transformer builds the nodes
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    except LarkError as exc:  # pragma: no cover - any other lark failure is still an input error
        raise InputError("syntax", f"The expression could not be read: {exc}") from None
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
            _start(comma),
            hint=hint,
        )
    return ParsedInput(text, items)


def _number_too_large(text: str, token: Token, limits: Limits) -> InputError:
    return _error(
        "number_too_large",
        "This number is too large to grade.",
        text,
        _start(token),
        _end(token),
        hint=f"use a number with at most {limits.max_literal_digits} digits and an exponent of"
        f" at most e{limits.max_literal_exponent}",
    )


def _check_characters(text: str) -> None:
    for offset, char in enumerate(text):
        if char.isascii() and (char.isalnum() or char in " \t\r\n+-*/^()[],._"):
            continue
        if not char.isascii() or not char.isprintable():  # NUL and other controls
            raise unsupported_character(text, offset)
        hint = _CHARACTER_HINTS.get(char)
        raise _error("syntax", f"Unexpected character {char!r}.", text, offset, hint=hint)


def _tokens(text: str) -> list[Token]:
    try:
        return list(_lexer().lex(LexerState(TextSlice.cast_from(text)), None))
    except UnexpectedCharacters as exc:
        offset = int(exc.pos_in_stream or 0)
        char = text[offset] if offset < len(text) else ""
        hint = _CHARACTER_HINTS.get(char)
        if char == "." or char.isdigit():
            hint = _CHARACTER_HINTS["."]
        raise _error(
            "syntax", f"Unexpected character {char!r}.", text, offset, hint=hint
        ) from None
    except LarkError as exc:  # pragma: no cover
        raise InputError("syntax", f"The expression could not be read: {exc}") from None


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
    end = _end(tokens[close]) if close is not None else len(text.rstrip())
    return _balanced(text[_start(tokens[index]) : end])


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
        _start(opener),
        _end(closer),
        hint="put an expression inside the brackets, or remove them",
    )


def _left_operand(text: str, tokens: Sequence[Token], index: int) -> str:
    """The operand that ends at token `index`, as a hint may quote it."""
    token = tokens[index]
    if token.type not in _CLOSERS:
        return str(token)
    opener = _opening_index(tokens, index)
    fragment = text[_start(tokens[opener]) : _end(token)]
    # A call's name belongs to the operand: sin(x)(x+1) -> sin(x)*(x+1).
    before = tokens[opener - 1] if opener > 0 else None
    if before is not None and before.type == "NAME" and _end(before) == _start(tokens[opener]):
        return text[_start(before) : _start(token)] + str(token)
    return _round(fragment)


def _right_operand(text: str, tokens: Sequence[Token], index: int) -> str:
    """The operand that starts at token `index`, as a hint may quote it."""
    token = tokens[index]
    if token.type in _OPENERS:
        return _round(_bracketed(text, tokens, index))
    if token.type == "NAME" and str(token) in FUNCTIONS and _is_call(tokens, index):
        return str(token) + _bracketed(text, tokens, index + 1)
    return str(token)


def _check_tokens(
    text: str,
    tokens: Sequence[Token],
    variables: frozenset[str],
    limits: Limits,
    column: Callable[[int], int],
) -> None:
    """Find the leftmost common mistake in the token stream and explain it."""
    stack: list[Token] = []
    for i, token in enumerate(tokens):
        kind = token.type
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if kind == "NUMBER" and _literal_too_large(token, limits):
            raise _number_too_large(text, token, limits)
        if kind in _OPENERS:
            stack.append(token)
            if len(stack) > limits.max_depth:
                raise _error(
                    "too_deep",
                    f"The brackets are nested more than {limits.max_depth} levels deep.",
                    text,
                    _start(token),
                    hint="simplify the expression before entering it",
                )
        elif kind in _CLOSERS:
            if not stack:
                raise _error(
                    "unbalanced_parentheses",
                    f"There is no opening bracket for this '{token}'.",
                    text,
                    _start(token),
                    hint=f"remove this '{token}' or add the '{'(' if kind == 'RPAR' else '['}'"
                    " it closes",
                )
            opener = stack.pop()
            if _OPENERS[opener.type] != kind:
                raise _error(
                    "unbalanced_parentheses",
                    f"'{opener}' at column {column(_start(opener))} is closed by '{token}'.",
                    text,
                    _start(token),
                    hint=f"close '{opener}' with '{')' if opener.type == 'LPAR' else ']'}'",
                )
            previous = tokens[i - 1]
            if previous.type in _OPENERS:
                is_call = i >= 2 and tokens[i - 2].type == "NAME"
                if not is_call:
                    raise _empty_brackets(text, previous, token)
        if kind == "STAR" and after is not None and after.type == "STAR":
            raise _error(
                "syntax",
                "'**' is not an operator here; powers are written with ^.",
                text,
                _start(token),
                _end(after),
                hint="write x^2 for x squared",
            )
        if kind == "NAME":
            _check_name(text, tokens, i, variables)
        if after is not None and kind in _OPERAND_END and after.type in _OPERAND_START:
            _check_adjacent(text, tokens, i)
    if stack:
        opener = stack[-1]
        closer = ")" if opener.type == "LPAR" else "]"
        raise _error(
            "unbalanced_parentheses",
            f"The '{opener}' at column {column(_start(opener))} is never closed.",
            text,
            _start(opener),
            hint=f"add a '{closer}' where the bracketed part ends",
        )


_SCIENTIFIC_E = re.compile(r"E(\d*)")


def _check_adjacent(text: str, tokens: Sequence[Token], i: int) -> None:
    """Two operands side by side (token `i` ends one, the next starts another)."""
    token, after = tokens[i], tokens[i + 1]
    if token.type == "NAME" and (after.type == "LPAR" or str(token) in FUNCTIONS):
        return  # a call, or a function name: _check_name judged it
    if after.type == "NAME" and str(after) in FUNCTIONS and not _is_call(tokens, i + 1):
        return  # 2 sin x: the function without brackets is reported at its name
    touching = _end(token) == _start(after)
    if token.type == "NUMBER" and touching:
        if after.type == "NUMBER" and str(after).startswith("."):
            raise _error(
                "syntax",
                "A number can have only one decimal point.",
                text,
                _start(after),
                _start(after) + 1,
                hint=f"use one decimal point, e.g. {token}",
            )
        if after.type == "NAME" and "e" not in str(token):
            _check_scientific(text, tokens, i)
    if _is_empty_bracket(tokens, i + 1):
        raise _empty_brackets(text, after, tokens[i + 2])
    left = _left_operand(text, tokens, i)
    right = _right_operand(text, tokens, i + 1)
    raise _error(
        "implicit_multiplication",
        f"A '*' is missing between {left} and {right}.",
        text,
        _start(after),
        _end(after),
        hint=f"write {left}*{right}",
    )


def _check_scientific(text: str, tokens: Sequence[Token], i: int) -> None:
    """2.5E-3 and 2E5: scientific notation with an uppercase E (which is Euler's number)."""
    number, name = tokens[i], tokens[i + 1]
    match = _SCIENTIFIC_E.fullmatch(str(name))
    if match is None:
        return
    end = _end(name)
    exponent = match.group(1)
    if not exponent and i + 3 < len(tokens):
        sign, digits = tokens[i + 2], tokens[i + 3]
        if (
            sign.type in {"MINUS", "PLUS"}
            and digits.type == "NUMBER"
            and str(digits).isdigit()
            and _end(name) == _start(sign)
            and _end(sign) == _start(digits)
        ):
            exponent = f"{sign}{digits}"
            end = _end(digits)
    if not exponent:
        return
    written = f"{number}e{exponent}"
    raise _error(
        "syntax",
        f"For a power of ten, write a lowercase e: {written}. An uppercase E is Euler's number.",
        text,
        _start(name),
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
        return argument, (_end(tokens[close])) if close is not None else len(text.rstrip())
    if token.type in {"MINUS", "PLUS"} and j + 1 < len(tokens):
        # sin -x is sin(-x); in sin - x the sign is an operator.
        operand = tokens[j + 1]
        if operand.type in {"NAME", "NUMBER"} and _end(token) == _start(operand):
            inner, end = _argument_after(text, tokens, j + 1)
            if end is not None:
                return f"({token}{inner[1:-1]})", end
        return "(x)", None
    if token.type == "NUMBER" or (token.type == "NAME" and str(token) not in FUNCTIONS):
        return f"({token})", (_end(token))
    if token.type == "NAME" and _is_call(tokens, j):
        inner = str(token) + _bracketed(text, tokens, j + 1)
        close = _matching_index(tokens, j + 1)
        return f"({inner})", (_end(tokens[close])) if close is not None else None
    return "(x)", None


def _check_name(text: str, tokens: Sequence[Token], i: int, variables: frozenset[str]) -> None:
    token = tokens[i]
    name = str(token)
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
            _start(token),
            end if end is not None else _end(token),
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
            _start(after),
            _end(after),
            hint=f"write {name}*{inside}",
        )
    raise _unknown_function(text, token, inside)


def _function_power(text: str, tokens: Sequence[Token], i: int) -> InputError:
    """sin^2(x): the power goes after the argument, sin(x)^2."""
    name = str(tokens[i])
    caret = tokens[i + 1]
    # The exponent: signs, then a number, a name or a bracketed group.
    k = i + 2
    while k < len(tokens) and tokens[k].type in {"MINUS", "PLUS"}:
        k += 1
    exponent_end: int | None = None  # index just after the exponent's last token
    if k < len(tokens):
        kind = tokens[k].type
        if kind == "NUMBER" or (kind == "NAME" and str(tokens[k]) not in FUNCTIONS):
            exponent_end = k + 1
        elif kind == "LPAR":
            close = _matching_index(tokens, k)
            exponent_end = close + 1 if close is not None else None
    if exponent_end is None:
        exponent, end, argument = "2", _end(caret), "(x)"
    else:
        exponent = text[_start(tokens[i + 2]) : _end(tokens[exponent_end - 1])]
        end = _end(tokens[exponent_end - 1])
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
        _start(tokens[i]),
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


def suggest_function(name: str) -> tuple[str | None, str]:
    """The function a learner probably meant by `name`, and a note (either may be empty)."""
    if name in ALIASES:
        return ALIASES[name]
    lowered = {f.lower(): f for f in FUNCTIONS}
    if name.lower() in lowered:
        return lowered[name.lower()], "function names are lowercase"
    if name.lower() in ALIASES:
        return ALIASES[name.lower()]
    for function in sorted(FUNCTIONS, key=len, reverse=True):
        if name.endswith(function) and len(name) > len(function):
            prefix = name[: -len(function)]
            if prefix.isalpha():
                return None, f"{prefix}*{function}"
    close = difflib.get_close_matches(name, list(FUNCTIONS), n=1, cutoff=0.8)
    if close:
        return close[0], ""
    return None, ""


def _unknown_function(text: str, token: Token, inside: str) -> InputError:
    name = str(token)
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
    return _error("unknown_function", message, text, _start(token), _end(token), hint=hint)


def _syntax_error(text: str, exc: UnexpectedInput) -> InputError:
    if isinstance(exc, UnexpectedEOF) or getattr(exc, "token", None) is not None and (
        getattr(exc, "token").type == "$END"  # noqa: B009
    ):
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
    token = getattr(exc, "token", None)
    expected = sorted(
        {_TOKEN_WORDS.get(t, t) for t in getattr(exc, "expected", ()) if t in _TOKEN_WORDS}
    )
    offset = int(getattr(token, "start_pos", None) or getattr(exc, "pos_in_stream", 0) or 0)
    shown = str(token) if token is not None else text[offset : offset + 1]
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
                f"The expression is nested more than {limits.max_depth} levels deep.",
                text,
                node.start,
                node.end,
                hint="simplify the expression before entering it",
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
        # Every node counts, a+b+c+... too: evaluators may recurse over the tree.
        stack.extend((child, depth + 1, node) for child in reversed(node.children()))


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
            text, Token("NAME", node.name, node.start, end_pos=node.name_end), "(...)"
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
