"""Learner text -> expression tree, with errors that teach.

The LALR parser (grammar/mathgrader.lark) builds `ast` nodes while it parses, so no recursion
happens on learner input. Before parsing, a pass over the tokens finds the common mistakes
(missing `*`, `sin x`, `sin^2(x)`, unknown functions, unbalanced brackets) and names them with a
hint; anything left is a located `syntax` error. Lark's exceptions never leave this module.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from ..errors import InputError
from . import ast
from .table import ALIASES, CONSTANTS, FUNCTIONS

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
    "\u2212": "type the minus sign as - from the keyboard",
    "\u00d7": "type multiplication as *",
    "\u00b7": "type multiplication as *",
    "\u22c5": "type multiplication as *",
    "\u00f7": "type division as /",
    "\u03c0": "type pi for \u03c0",
    "\u221a": "write sqrt(x) for a square root",
    "\u221e": "type oo for infinity",
    "\u00b2": "write powers with ^, e.g. x^2",
    "\u00b3": "write powers with ^, e.g. x^3",
}


@dataclass(frozen=True, slots=True)
class ParsedInput:
    text: str
    items: tuple[ast.Node, ...]  # one node, or several for a comma-separated list

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


def _span(*parts: Any) -> tuple[int, int]:
    starts, ends = [], []
    for part in parts:
        if isinstance(part, Token):
            starts.append(part.start_pos)
            ends.append(part.end_pos)
        elif isinstance(part, ast.Node):
            starts.append(part.start)
            ends.append(part.end)
    return min(starts), max(ends)


@v_args(inline=True)
class _Builder(Transformer[Token, Any]):
    """Builds `ast` nodes inside the LALR parser (no recursion over the input)."""

    def number(self, token: Token) -> ast.Number:
        text = str(token)
        return ast.Number(
            token.start_pos,
            token.end_pos,
            text,
            _literal_value(text, token.start_pos),
            "." in text or "e" in text,
        )

    def name(self, token: Token) -> ast.Node:
        if str(token) in CONSTANTS:
            return ast.Constant(token.start_pos, token.end_pos, str(token))
        return ast.Name(token.start_pos, token.end_pos, str(token))

    def call(self, name: Token, _lpar: Token, args: list[ast.Node], rpar: Token) -> ast.Call:
        return ast.Call(name.start_pos, rpar.end_pos, str(name), tuple(args), name.end_pos)

    def arguments(self, *parts: Any) -> list[ast.Node]:
        return [p for p in parts if isinstance(p, ast.Node)]

    def group(self, lpar: Token, inner: ast.Node, rpar: Token) -> ast.Group:
        return ast.Group(lpar.start_pos, rpar.end_pos, inner)

    def tuple(self, lpar: Token, *rest: Any) -> ast.Sequence:
        items = tuple(p for p in rest if isinstance(p, ast.Node))
        return ast.Sequence(lpar.start_pos, rest[-1].end_pos, items, "(")

    def bracket(self, lsqb: Token, *rest: Any) -> ast.Sequence:
        items = tuple(p for p in rest if isinstance(p, ast.Node))
        return ast.Sequence(lsqb.start_pos, rest[-1].end_pos, items, "[")

    def _binary(self, left: ast.Node, op: Token, right: ast.Node) -> ast.Binary:
        return ast.Binary(*_span(left, right), str(op), left, right)

    add = sub = mul = div = pow = _binary

    def _unary(self, op: Token, operand: ast.Node) -> ast.Unary:
        return ast.Unary(*_span(op, operand), str(op), operand)

    neg = pos = _unary

    def start(self, *parts: Any) -> tuple[ast.Node, ...]:
        return tuple(p for p in parts if isinstance(p, ast.Node))


class _LiteralTooLarge(Exception):
    def __init__(self, offset: int) -> None:
        self.offset = offset


def _literal_value(text: str, offset: int) -> Fraction:
    mantissa, _, exponent = text.partition("e")
    limits = DEFAULT_LIMITS
    if len(mantissa.replace(".", "").lstrip("0")) > limits.max_literal_digits or (
        exponent and abs(int(exponent)) > limits.max_literal_exponent
    ):
        raise _LiteralTooLarge(offset)
    return Fraction(text)


@functools.cache
def _parser() -> Lark:
    # Built once, lazily; the cache holds one immutable parser, not learner data.
    return Lark(
        _grammar_text(),
        parser="lalr",
        lexer="contextual",
        transformer=_Builder(),
        propagate_positions=False,
        maybe_placeholders=True,
    )


@functools.cache
def _lexer() -> Lark:
    return Lark(_grammar_text(), parser="lalr", lexer="basic")


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
    _check_characters(text)
    tokens = _tokens(text)
    _check_tokens(text, tokens, frozenset(variables), limits)
    try:
        items = _parser().parse(text)
    except _LiteralTooLarge as exc:
        raise _number_too_large(text, exc.offset) from None
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    except LarkError as exc:  # pragma: no cover - any other lark failure is still an input error
        raise InputError("syntax", f"The expression could not be read: {exc}") from None
    for item in items:
        _check_tree(text, item, limits)
    if len(items) > 1 and not allow_list:
        comma = next(t for t in tokens if t.type == "COMMA" and _depth_at(tokens, t) == 0)
        hint = "enter a single expression"
        if len(items) == 2 and all(isinstance(i, ast.Number) for i in items):
            hint = f"for a decimal number use a point: {items[0].text}.{items[1].text}"  # type: ignore[attr-defined]
        raise _error(
            "unexpected_list",
            "Only one expression is expected here, but the answer is a list.",
            text,
            comma.start_pos,
            hint=hint,
        )
    return ParsedInput(text, items)


def _number_too_large(text: str, offset: int) -> InputError:
    end = offset
    while end < len(text) and (text[end].isalnum() or text[end] in ".+-"):
        end += 1
    return _error(
        "number_too_large",
        "This number is too large to grade.",
        text,
        offset,
        end,
        hint="use a number with at most 100 digits",
    )


def _check_characters(text: str) -> None:
    for offset, char in enumerate(text):
        if char.isascii() and (char.isalnum() or char in " \t\r\n+-*/^()[],._"):
            continue
        if char == "\x00" or (not char.isprintable() and char not in "\t\r\n"):
            shown = f"U+{ord(char):04X}"
        else:
            shown = repr(char)
        hint = _CHARACTER_HINTS.get(char)
        if hint is None and not char.isascii():
            hint = "use only the characters on a standard keyboard"
        raise _error("syntax", f"Unexpected character {shown}.", text, offset, hint=hint)


def _tokens(text: str) -> list[Token]:
    try:
        return list(_lexer().lex(text))
    except UnexpectedCharacters as exc:
        char = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        hint = _CHARACTER_HINTS.get(char)
        if char == "." or char.isdigit():
            hint = _CHARACTER_HINTS["."]
        raise _error(
            "syntax", f"Unexpected character {char!r}.", text, exc.pos_in_stream, hint=hint
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


def _matching_end(tokens: Sequence[Token], index: int) -> int:
    """Offset just after the bracket closing the one at `index` (or the end of the text)."""
    depth = 0
    for token in tokens[index:]:
        if token.type in _OPENERS:
            depth += 1
        elif token.type in _CLOSERS:
            depth -= 1
            if depth == 0:
                return int(token.end_pos)
    return int(tokens[-1].end_pos)


def _matching_start(tokens: Sequence[Token], index: int) -> int:
    depth = 0
    for i in range(index, -1, -1):
        token = tokens[i]
        if token.type in _CLOSERS:
            depth += 1
        elif token.type in _OPENERS:
            depth -= 1
            if depth == 0:
                # A call's name belongs to the operand: sin(x)(x+1) -> sin(x)*(x+1).
                if i > 0 and tokens[i - 1].type == "NAME" and tokens[i - 1].end_pos == token.start_pos:
                    return int(tokens[i - 1].start_pos)
                return int(token.start_pos)
    return 0


def _operand_bounds(tokens: Sequence[Token], left: int, right: int) -> tuple[int, int]:
    """Start of the operand ending at token `left`, end of the one starting at `right`."""
    start = (
        _matching_start(tokens, left)
        if tokens[left].type in _CLOSERS
        else int(tokens[left].start_pos)
    )
    token = tokens[right]
    if token.type in _OPENERS:
        end = _matching_end(tokens, right)
    elif (
        token.type == "NAME"
        and right + 1 < len(tokens)
        and tokens[right + 1].type == "LPAR"
        and str(token) in FUNCTIONS
    ):
        end = _matching_end(tokens, right + 1)
    else:
        end = int(token.end_pos)
    return start, end


def _check_tokens(
    text: str, tokens: Sequence[Token], variables: frozenset[str], limits: Limits
) -> None:
    """Find the leftmost common mistake in the token stream and explain it."""
    stack: list[Token] = []
    for i, token in enumerate(tokens):
        kind = token.type
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if kind in _OPENERS:
            stack.append(token)
            if len(stack) > limits.max_depth:
                raise _error(
                    "too_deep",
                    f"The brackets are nested more than {limits.max_depth} levels deep.",
                    text,
                    token.start_pos,
                    hint="simplify the expression before entering it",
                )
            if after is not None and after.type == _OPENERS[kind] and kind == "LPAR":
                pass
        elif kind in _CLOSERS:
            if not stack:
                raise _error(
                    "unbalanced_parentheses",
                    f"There is no opening bracket for this '{token}'.",
                    text,
                    token.start_pos,
                    hint=f"remove this '{token}' or add the '{'(' if kind == 'RPAR' else '['}'"
                    " it closes",
                )
            opener = stack.pop()
            if _OPENERS[opener.type] != kind:
                raise _error(
                    "unbalanced_parentheses",
                    f"'{opener}' at column {opener.start_pos + 1} is closed by '{token}'.",
                    text,
                    token.start_pos,
                    hint=f"close '{opener}' with '{')' if opener.type == 'LPAR' else ']'}'",
                )
            previous = tokens[i - 1]
            if previous.type in _OPENERS:
                is_call = i >= 2 and tokens[i - 2].type == "NAME"
                if not is_call:
                    raise _error(
                        "syntax",
                        "The brackets are empty.",
                        text,
                        previous.start_pos,
                        token.end_pos,
                        hint="put an expression inside the brackets, or remove them",
                    )
        if kind == "STAR" and after is not None and after.type == "STAR":
            raise _error(
                "syntax",
                "'**' is not an operator here; powers are written with ^.",
                text,
                token.start_pos,
                after.end_pos,
                hint="write x^2 for x squared",
            )
        if kind == "NAME":
            _check_name(text, tokens, i, variables)
        if after is not None and kind in _OPERAND_END and after.type in _OPERAND_START:
            if kind == "NAME" and after.type == "LPAR":
                continue  # a call: _check_name judged the name
            if kind == "NAME" and str(token) in FUNCTIONS:
                continue  # reported by _check_name
            start, end = _operand_bounds(tokens, i, i + 1)
            split = int(token.end_pos)
            fixed = text[start:split] + "*" + text[after.start_pos : end]
            raise _error(
                "implicit_multiplication",
                f"A '*' is missing between {text[start:split]} and {text[after.start_pos:end]}.",
                text,
                after.start_pos,
                after.end_pos,
                hint=f"write {fixed}",
            )
    if stack:
        opener = stack[-1]
        closer = ")" if opener.type == "LPAR" else "]"
        raise _error(
            "unbalanced_parentheses",
            f"The '{opener}' at column {opener.start_pos + 1} is never closed.",
            text,
            opener.start_pos,
            hint=f"add a '{closer}' where the bracketed part ends",
        )


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
        operand = ""
        if after is not None and after.type in {"NAME", "NUMBER"}:
            operand = str(after)
            end = int(after.end_pos)
        else:
            end = int(token.end_pos)
        hint = f"write {name}({operand or 'x'})"
        raise _error(
            "function_without_parentheses",
            f"{name} is a function: put its argument in brackets.",
            text,
            token.start_pos,
            end,
            hint=hint,
        )
    if not calls:
        return
    assert after is not None
    close = _matching_end(tokens, i + 1)
    inside = text[after.start_pos : close]
    if len(name) == 1 or name in CONSTANTS or name in variables:
        raise _error(
            "implicit_multiplication",
            f"A '*' is missing between {name} and {inside}; {name} is not a function.",
            text,
            after.start_pos,
            after.end_pos,
            hint=f"write {name}*{inside}",
        )
    raise _unknown_function(text, token, inside)


def _function_power(text: str, tokens: Sequence[Token], i: int) -> InputError:
    name = str(tokens[i])
    # sin^2(x) -> sin(x)^2: the exponent runs up to the bracket that opens the argument.
    j = i + 2
    while j < len(tokens) and tokens[j].type != "LPAR":
        j += 1
    exponent = text[tokens[i + 1].end_pos : tokens[j].start_pos if j < len(tokens) else len(text)]
    exponent = exponent.strip() or "2"
    if j < len(tokens):
        argument = text[tokens[j].start_pos : _matching_end(tokens, j)]
        hint = f"write {name}{argument}^{_wrap_exponent(exponent)}"
    else:
        hint = f"write {name}(x)^{_wrap_exponent(exponent)}"
    if exponent.replace(" ", "") in {"-1", "(-1)"}:
        inverse = {"sin": "asin", "cos": "acos", "tan": "atan", "cot": "acot", "sinh": "asinh",
                   "cosh": "acosh", "tanh": "atanh", "coth": "acoth"}.get(name)
        if inverse is not None and j < len(tokens):
            hint += f" (or, for the inverse function, {inverse}{argument})"
    return _error(
        "function_power",
        f"A power of {name} is written after its argument.",
        text,
        tokens[i].start_pos,
        tokens[i + 1].end_pos,
        hint=hint,
    )


def _wrap_exponent(exponent: str) -> str:
    if exponent.isalnum() or (exponent.startswith("(") and exponent.endswith(")")):
        return exponent
    return f"({exponent})"


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
    if replacement is not None:
        message = f"{name} is not a function the grader knows; did you mean {replacement}?"
        if note:
            message += f" ({note})"
        hint = f"write {replacement}{inside}"
    elif note and "*" in note and " " not in note:
        message = f"{name} is not a function the grader knows; a '*' may be missing."
        hint = f"write {note}{inside}"
    elif note:
        message = f"{name} is not available in this syntax."
        hint = note.split(": ", 1)[-1] if ": " in note else note
    else:
        hint = (
            f"if {name} is a variable, write {name}*{inside}; the functions you can use are "
            "listed in the help center"
        )
    return _error("unknown_function", message, text, token.start_pos, token.end_pos, hint=hint)


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
    """Depth, arity and placement of lists: what the grammar alone does not say."""
    depth_of: dict[int, int] = {}
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
        depth_of[id(node)] = depth
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
        for child in node.children():
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
