"""The table-driven parser (`language/lalr.py`) against stock Lark on the same grammar.

The oracle is the code path the parser used before: Lark's `BasicLexer`, Lark's LALR parser and
the Transformer below (kept only here), on `grammar/mathgrader.lark`. Two levels are compared:

- raw: the tokens (or the offset where lexing fails), then the tree (or the unexpected token and
  the set of terminals the parser expected there), for any text, including text the token checks
  would refuse before it ever reaches the parser;
- what a learner sees: `parse_tree` with the new lexer and parser against `parse_tree` with the
  stock ones swapped in: the same items (node types, fields, offsets) and notes, or the same error
  (code, message, column, end_column, hint).

Texts: every answer and reference of the conformance files and the example keys, and generated
ones: expressions, their mutilations (a bracket or operand dropped, a stray symbol), token soup
from the grammar's terminals and arbitrary junk.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import tomllib
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedToken
from lark.lexer import BasicLexer, Lexer, LexerState
from lark.utils import TextSlice

from mathgrader import InputError
from mathgrader.language import ast, lalr, parser
from mathgrader.language.table import CONSTANTS
from strategies import expressions, junk_text, property_settings

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE = ROOT.parent / "shared" / "conformance"
EXAMPLES = ROOT / "examples"

# ------------------------------------------------------------------------------ the oracle


def _start(token: Token) -> int:
    return int(token.start_pos or 0)


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


@v_args(inline=True)
class _StockBuilder(Transformer[Token, Any]):
    """The Transformer the parser used with Lark's own LALR parser, unchanged."""

    def number(self, token: Token) -> ast.Number:
        text = str(token)
        return ast.Number(_start(token), _end(token), text, Fraction(text),
                          "." in text or "e" in text)

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

    def start(self, *parts: Any) -> tuple[ast.Node, ...]:
        return tuple(p for p in parts if isinstance(p, ast.Node))


class _Replay(Lexer):
    """Feeds Lark's parser tokens lexed beforehand, as the parser module used to."""

    def __init__(self, conf: Any) -> None:
        pass

    def lex(self, data: Any) -> Iterator[Token]:  # type: ignore[override]
        yield from data


@functools.cache
def _stock() -> tuple[BasicLexer, Lark]:
    grammar = Lark(parser._grammar_text(), parser="lalr", lexer=_Replay,
                   transformer=_StockBuilder(), maybe_placeholders=True)
    return BasicLexer(grammar.lexer_conf), grammar


def _stock_lex(text: str) -> list[Token]:
    return list(_stock()[0].lex(LexerState(TextSlice.cast_from(text)), None))


class _StockLexer:
    """Lark's lexer behind the interface of `lalr.Lexer`, to swap into the parser module."""

    def lex(self, text: str) -> list[lalr.Token]:
        try:
            return [lalr.Token(t.type, str(t), _start(t), _end(t)) for t in _stock_lex(text)]
        except UnexpectedCharacters as exc:
            raise lalr.UnexpectedCharacter(exc.pos_in_stream) from None


class _StockParser:
    """Lark's LALR parser and the old Transformer behind the interface of `lalr.Parser`."""

    def parse(self, tokens: list[lalr.Token]) -> Any:
        lark_tokens = [Token(t.type, t.text, t.start, end_pos=t.end) for t in tokens]
        try:
            return _stock()[1].parse(lark_tokens)  # type: ignore[arg-type]
        except UnexpectedToken as exc:
            token = exc.token
            raise lalr.UnexpectedToken(
                lalr.Token(token.type, str(token), _start(token), _end(token)),
                frozenset(exc.expected),
            ) from None


# ------------------------------------------------------------------------------ comparisons


def _flat(items: tuple[ast.Node, ...]) -> list[tuple[Any, ...]]:
    """Every node, parents first, as its type and its fields with their types; children are
    counted, not nested. (repr and == recurse, and a long a+b+c+... nests a thousand deep.)"""
    flat = []
    for item in items:
        for node in ast.walk(item):
            fields = []
            for field in dataclasses.fields(node):
                value = getattr(node, field.name)
                if isinstance(value, ast.Node):
                    value = "a node"
                elif isinstance(value, tuple) and any(isinstance(v, ast.Node) for v in value):
                    value = ("nodes", len(value))
                fields.append((field.name, type(value).__name__, value))
            flat.append((type(node).__name__, *fields))
    return flat


def _raw_new(text: str) -> tuple[Any, ...]:
    try:
        tokens = parser._lexer().lex(text)
    except lalr.UnexpectedCharacter as exc:
        return ("lex error", exc.offset)
    try:
        tree = parser._lalr().parse(tokens)
    except lalr.UnexpectedToken as exc:
        return _parse_error(exc.token.type, exc.token.text, exc.token.start, exc.expected)
    return ([(t.type, t.text, t.start, t.end) for t in tokens], _flat(tree))


def _raw_stock(text: str) -> tuple[Any, ...]:
    try:
        tokens = _stock_lex(text)
    except UnexpectedCharacters as exc:
        return ("lex error", exc.pos_in_stream)
    try:
        tree = _stock()[1].parse(tokens)  # type: ignore[arg-type]
    except UnexpectedToken as exc:
        return _parse_error(exc.token.type, str(exc.token), _start(exc.token), exc.expected)
    return ([(t.type, str(t), _start(t), _end(t)) for t in tokens], _flat(tree))


def _parse_error(kind: str, text: str, start: int, expected: Any) -> tuple[Any, ...]:
    # Lark places the end of input at its last token; the messages never use that position.
    return ("parse error", kind, text, None if kind == lalr.END else start, frozenset(expected))


def _seen(text: str, allow_list: bool) -> tuple[Any, ...]:
    """What `parse_tree` gives a learner: the tree (types, fields, offsets) or the error."""
    try:
        parsed = parser.parse_tree(text, allow_list=allow_list)
    except InputError as exc:
        return ("error", exc.code, exc.message, exc.column, exc.end_column, exc.hint)
    return ("parsed", _flat(parsed.items), parsed.notes)


def _seen_stock(text: str, allow_list: bool) -> tuple[Any, ...]:
    with mock.patch.object(parser, "_lexer", _StockLexer), \
            mock.patch.object(parser, "_lalr", _StockParser):
        return _seen(text, allow_list)


def _same(text: str) -> str:
    """The outcome of `text` (for counting), after asserting both paths agree on it."""
    raw = _raw_new(text)
    assert raw == _raw_stock(text), text
    for allow_list in (False, True):
        assert _seen(text, allow_list) == _seen_stock(text, allow_list), (text, allow_list)
    return str(raw[0]) if isinstance(raw[0], str) else "parsed"


# ------------------------------------------------------------------------------ known texts


def _conformance_texts() -> list[str]:
    texts = []
    for path in sorted(CONFORMANCE.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                texts += [v for k in ("answer", "reference") if isinstance(v := item.get(k), str)]
    return texts


def _example_texts() -> list[str]:
    texts = []
    for path in sorted(EXAMPLES.glob("*.toml")):
        for question in tomllib.loads(path.read_text(encoding="utf-8"))["questions"]:
            texts += [question["answer"]] if "answer" in question else []
            texts += question.get("answers", []) + question.get("accept", [])
            texts += question.get("reject", [])
            texts += [f["answer"] for f in question.get("feedback", [])]
    for line in (EXAMPLES / "submissions.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            texts.append(json.loads(line)["answer"])
    return texts


def test_conformance_answers_and_references() -> None:
    if not CONFORMANCE.is_dir():
        pytest.skip(f"no conformance files at {CONFORMANCE}")
    outcomes = [_same(text) for text in dict.fromkeys(_conformance_texts())]
    # The comparison covers every path: trees, parse errors and lexing errors.
    assert {"parsed", "parse error", "lex error"} <= set(outcomes)
    assert outcomes.count("parsed") > 500


def test_example_keys() -> None:
    outcomes = [_same(text) for text in dict.fromkeys(_example_texts())]
    assert outcomes.count("parsed") > 100 and "parse error" in outcomes


# ------------------------------------------------------------------------------ generated texts

# Every terminal of the grammar, spelled: its string for punctuation, examples for the rest.
_SOUP = sorted(
    {t.pattern.value for t in parser._parser().terminals if t.pattern.type == "str"}
    | {"1", "23", "4.5", ".5", "1e3", "2.5e-3", "7e", "1.", "x", "y2", "pi", "E", "I", "sin",
       "gcd", "root", "f_1", "e", " ", "  ", "\t", "."}
)
_soup = st.lists(st.sampled_from(_SOUP), max_size=14).map("".join)


@st.composite
def _mutilated(draw: st.DrawFn) -> str:
    """An expression with one character dropped or replaced: unbalanced brackets, missing
    operands, stray operators."""
    text = draw(expressions())
    at = draw(st.integers(0, len(text)))
    insert = draw(st.sampled_from(["", "", "(", ")", "[", "]", ",", "+", "-", "*", "^", " "]))
    return text[:at] + insert + text[at + 1:]


@property_settings(400)
@given(_soup)
def test_token_soup(text: str) -> None:
    _same(text)


@property_settings(300)
@given(_mutilated())
def test_mutilated_expressions(text: str) -> None:
    _same(text)


@property_settings(200)
@given(expressions())
def test_generated_expressions(text: str) -> None:
    _same(text)


@property_settings(80)  # long texts among them: 2,000 characters and more
@given(junk_text())
def test_junk(text: str) -> None:
    _same(text)


# ------------------------------------------------------------------------------ the driver itself

# A grammar with every construct the driver translates from Lark's tree builder: `[...]`
# placeholders (None when absent), anonymous tokens that are filtered out, `!rule` keeping
# them, `_rule` inlined into its parent, `?rule` passing one child up but building with more.
_SHAPES = r"""
start: _items
_items: item (";" item)*
?item: pair | "(" item ")" | atom | atom "~" atom
pair: atom [OP] [atom] "=" atom
!mark: "@" NAME
?atom: NAME | NUMBER | mark | "<" [atom] ">" -> angle
OP: "+" | "-"
%import common.CNAME -> NAME
%import common.INT -> NUMBER
%import common.WS
%ignore WS
"""


class _Shapes:
    """Builds (rule, children) for any rule; tokens become (type, text, start, end)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name.isupper():
            raise AttributeError(name)  # no default handler, helper rules or terminal callbacks
        return lambda *children: (name, tuple(_plain(c) for c in children))


def _plain(value: Any) -> Any:
    if isinstance(value, Token):
        return (value.type, str(value), value.start_pos, value.end_pos)
    if isinstance(value, lalr.Token):
        return (value.type, value.text, value.start, value.end)
    return value


class _StockShapes(_Shapes):
    """The same, called as Lark calls a transformer without v_args: with one list."""

    def __getattr__(self, name: str) -> Any:
        build = super().__getattr__(name)
        return lambda children: build(*children)


@functools.cache
def _shapes() -> tuple[lalr.Lexer, lalr.Parser, Lark]:
    grammar = Lark(_SHAPES, parser="lalr", lexer="basic", maybe_placeholders=True)
    stock = Lark(_SHAPES, parser="lalr", lexer="basic", maybe_placeholders=True,
                 transformer=_StockShapes())
    return lalr.Lexer.from_lark(grammar), lalr.Parser.from_lark(grammar, _Shapes()), stock


def _shapes_outcome(text: str) -> tuple[Any, ...]:
    lexer, table, stock = _shapes()
    try:
        new: tuple[Any, ...] = ("parsed", table.parse(lexer.lex(text)))
    except lalr.UnexpectedCharacter as exc:
        new = ("lex error", exc.offset)
    except lalr.UnexpectedToken as exc:
        new = _parse_error(exc.token.type, exc.token.text, exc.token.start, exc.expected)
    try:  # lexed first, then parsed, as the parser module does (Lark alone interleaves them)
        list(stock.lex(text))
        old: tuple[Any, ...] = ("parsed", _plain(stock.parse(text)))
    except UnexpectedCharacters as exc:
        old = ("lex error", exc.pos_in_stream)
    except UnexpectedToken as exc:
        old = _parse_error(exc.token.type, str(exc.token), _start(exc.token), exc.expected)
    assert new == old, text
    return new


@pytest.mark.parametrize("text", [
    "a = b", "a + = b", "a b = c", "a + b = c", "@x", "(a ~ b)", "<>", "<a>", "a; @b; <<c>>",
    "(((a)))", "a = ", "a ~", "; a", "1 = 2; x = y", "a $ b",
])
def test_shapes_grammar(text: str) -> None:
    _shapes_outcome(text)


@property_settings(300)
@given(st.lists(st.sampled_from(["a", "b7", "12", "+", "-", "=", "~", "@", ";", "(", ")", "<",
                                 ">", " ", "$"]), max_size=12).map("".join))
def test_shapes_grammar_soup(text: str) -> None:
    _shapes_outcome(text)


def _name(text: str, start: int) -> tuple[str, str, int, int]:
    return ("NAME", text, start, start + len(text))


# What the driver builds, written out: the comparison above holds on these shapes.
SHAPES = [
    ("a + = b", ("start", (("pair", (_name("a", 0), ("OP", "+", 2, 3), None, _name("b", 6))),))),
    ("a b = c", ("start", (("pair", (_name("a", 0), None, _name("b", 2), _name("c", 6))),))),
    ("@x", ("start", (("mark", (("AT", "@", 0, 1), _name("x", 1))),))),  # "@" kept by !mark
    ("<>", ("start", (("angle", (None,)),))),
    ("(a ~ b)", ("start", (("item", (_name("a", 1), _name("b", 5))),))),  # ?item, two children
    ("(a)", ("start", (_name("a", 1),))),  # ?item, one child after "(" ")" are filtered out
    ("a; b; c", ("start", (_name("a", 0), _name("b", 3), _name("c", 6)))),  # _items inlined
]


@pytest.mark.parametrize(("text", "tree"), SHAPES, ids=[text for text, _ in SHAPES])
def test_shapes_built(text: str, tree: Any) -> None:
    assert _shapes_outcome(text) == ("parsed", tree)


def test_a_keyword_terminal_is_refused() -> None:
    # Lark would lex `let` as the keyword, not as a NAME; this lexer cannot, so it refuses.
    grammar = Lark('start: "let" NAME\n%import common.CNAME -> NAME\n%ignore " "',
                   parser="lalr")
    with pytest.raises(NotImplementedError, match="also matched"):
        lalr.Lexer.from_lark(grammar)


def test_a_rule_without_a_builder_is_refused() -> None:
    grammar = Lark("start: pair\npair: NAME NAME\n%import common.CNAME -> NAME", parser="lalr")

    class OnlyStart:
        def start(self, *children: Any) -> Any:
            return children

    with pytest.raises(NotImplementedError, match="no method pair"):
        lalr.Parser.from_lark(grammar, OnlyStart())
