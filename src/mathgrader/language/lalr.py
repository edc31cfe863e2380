"""The grammar's own LALR tables and terminals, run by a tight loop instead of Lark's runtime.

Lark stays the grammar compiler: it reads `grammar/mathgrader.lark` and builds the LALR
analysis. Running a parse through Lark's generic machinery, though, costs most of a parse: a
`Token` str subclass per token, a `ParserState` stepping one token at a time, and a chain of
tree-builder wrappers around every transformer callback. This module reads what Lark built (the
terminal definitions, the parse table and its rules) and runs it with one compiled regular
expression and one loop, with the same results:

- `Lexer` matches like Lark's `BasicLexer`: at each position the first terminal, in Lark's
  order (priority, then longest possible match, then longest pattern, then name), that matches;
  `%ignore`d terminals are dropped.
- `Parser` shifts and reduces like Lark's LALR parser and builds values like its tree builder
  with `maybe_placeholders=True` and an inline transformer: helper rules named `_...` are
  spliced into their parent, `[optional]` parts that are absent become `None`, a `?rule` with
  one child passes it up, and every other rule calls the builder method named after its alias
  (or the rule).

What both need from Lark is plain data (`export`): the terminals' regular expressions in
Lark's order, and the parse table with what each rule's reduction builds. The parser module
keeps that data in a JSON file with the grammar's hash, so that a process that only parses
never imports Lark (about 50 ms of a cold start); `Lexer.from_spec` and `Parser.from_spec` run
it, and `from_lark` goes through the same data.

`tests/language/test_lalr_driver.py` checks both against stock Lark on every known answer and on
generated text, broken text included.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Lark is imported only to export its tables (see `export`)
    from lark import Lark
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

__all__ = ["END", "FORMAT", "Lexer", "Parser", "Token", "UnexpectedCharacter", "UnexpectedToken",
           "export"]

END = "$END"  # the terminal Lark's tables use for the end of the input
FORMAT = 1  # the version of `export`'s data; a change to its shape must change it


@dataclass(slots=True)
class Token:
    """One terminal of the input: its type (`NUMBER`, `PLUS`, ...), text and 0-based offsets.

    A plain slots class: building one costs a fraction of a Lark `Token` (a str subclass).
    """

    type: str
    text: str
    start: int
    end: int


class UnexpectedCharacter(Exception):
    """No terminal matches the text at `offset`."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"no terminal matches at offset {offset}")
        self.offset = offset


class UnexpectedToken(Exception):
    """The parse table has no action for `token` here; `expected` are the terminals it has
    (Lark's `UnexpectedToken.expected`, `$END` included)."""

    def __init__(self, token: Token, expected: frozenset[str]) -> None:
        super().__init__(f"unexpected {token.type} {token.text!r} at offset {token.start}")
        self.token = token
        self.expected = expected


def export(lark: Lark) -> dict[str, Any]:
    """What `Lexer.from_spec` and `Parser.from_spec` need of a `Lark(..., parser="lalr",
    lexer="basic")` instance, as JSON-compatible data: `{"format", "lexer", "parser"}`."""
    return {"format": FORMAT, "lexer": _lexer_spec(lark), "parser": _parser_spec(lark)}


class Lexer:
    """The grammar's terminals as one alternation of named groups, tried in the order given."""

    def __init__(self, terminals: Sequence[tuple[str, str]], ignore: Collection[str],
                 flags: int = 0) -> None:
        """`terminals` are (name, regular expression) pairs, in the order Lark tries them."""
        self._pattern = re.compile(
            "|".join(f"(?P<{name}>{regexp})" for name, regexp in terminals), flags)
        self._ignore = frozenset(ignore)
        self.terminals: Mapping[str, str] = dict(terminals)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Lexer:
        """The lexer of `export(...)["lexer"]`."""
        return cls([(name, regexp) for name, regexp in spec["terminals"]], spec["ignore"],
                   spec["flags"])

    @classmethod
    def from_lark(cls, lark: Lark) -> Lexer:
        """The lexer of a `Lark(...)` instance's terminals and `%ignore`s."""
        return cls.from_spec(_lexer_spec(lark))

    def lex(self, text: str) -> list[Token]:
        """The tokens of `text`, or `UnexpectedCharacter` at the first offset no terminal
        matches."""
        tokens = []
        ignore = self._ignore
        # Each match starts where the last ended (`scanner` is CPython's, undocumented).
        match_next = self._pattern.scanner(text).match  # type: ignore[attr-defined]
        offset = 0
        while (match := match_next()) is not None:
            start, offset = match.span()
            kind = match.lastgroup
            if kind not in ignore:
                tokens.append(Token(kind, match[0], start, offset))
        if offset != len(text):
            raise UnexpectedCharacter(offset)
        return tokens


def _lexer_spec(lark: Lark) -> dict[str, Any]:
    conf = lark.lexer_conf
    if conf.re_module is not re:
        raise NotImplementedError("the grammar's terminals need the `regex` module")
    _refuse_keywords(conf.terminals, conf.g_regex_flags)
    # The order of Lark's BasicLexer: the first alternative that matches wins.
    ordered = sorted(conf.terminals, key=lambda t: (
        -t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
    return {"terminals": [[t.name, t.pattern.to_regexp()] for t in ordered],
            "ignore": sorted(conf.ignore), "flags": int(conf.g_regex_flags)}


def _refuse_keywords(terminals: Collection[TerminalDef], flags: int) -> None:
    """Lark retypes a regex match that spells a string terminal (a keyword such as `if` read
    as a NAME); this lexer does not, so a grammar that needs it is refused here rather than
    lexed differently."""
    from lark.lexer import PatternStr

    patterns = [re.compile(t.pattern.to_regexp(), flags) for t in terminals
                if not isinstance(t.pattern, PatternStr)]
    for terminal in terminals:
        if isinstance(terminal.pattern, PatternStr) and any(
                p.fullmatch(terminal.pattern.value) for p in patterns):
            raise NotImplementedError(
                f"terminal {terminal.name} is also matched by a regular expression terminal")


class Parser:
    """Lark's LALR table, driven by one loop.

    Actions are encoded as ints: `n >= 0` shifts (or, for a nonterminal, goes) to state `n`;
    `n < 0` reduces by rule `~n`. A `?rule` of one symbol passes its child up unchanged, so
    only the top state changes; chains of them (atom -> power -> unary -> product -> sum) are
    followed once, when the parser is built, into `_units`.
    """

    def __init__(
        self, states: Sequence[Mapping[str, int]], rules: Sequence[Sequence[Any]], start: int,
        end: int, builder: object,
    ) -> None:
        """`states[n]` maps a symbol to its encoded action in state n; `rules[r]` is what
        reducing by rule r does: `[size, origin, build]`, `build` as `_rule_build` gives it.
        `start` and `end` are the states the parse starts and ends in."""
        self._table: list[dict[str, int]] = [dict(actions) for actions in states]
        self._expected = [frozenset(s for s in actions if s.isupper()) for actions in self._table]
        self._reductions = [
            (int(size), str(origin), *_build_fn(build, builder)) for size, origin, build in rules
        ]
        self._start = start
        self._end = end
        self._units = self._unit_chains()

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], builder: object) -> Parser:
        """The parser of `export(...)["parser"]`, building values with `builder`'s methods,
        named as a Transformer's are: after the rule's alias, or the rule."""
        return cls(spec["states"], spec["rules"], spec["start"], spec["end"], builder)

    @classmethod
    def from_lark(cls, lark: Lark, builder: object) -> Parser:
        """The parser of a `Lark(..., parser="lalr")` instance (see `from_spec`)."""
        return cls.from_spec(_parser_spec(lark), builder)

    def _unit_chains(self) -> list[dict[str, dict[int, int]]]:
        """For a state whose action on a terminal reduces a pass-through rule: for each state
        below it, the state the parser is in once every pass-through reduction that follows is
        done (the end state stops a chain, as it ends the parse)."""
        table, reductions = self._table, self._reductions
        below: list[list[int]] = [[] for _ in table]  # the states that go to each state
        for state, actions in enumerate(table):
            for target in actions.values():
                if target >= 0:
                    below[target].append(state)

        def passes(state: int, kind: str) -> str | None:
            """The rule's nonterminal when `state` reduces a pass-through rule on `kind`."""
            action = table[state].get(kind)
            if action is None or action >= 0:
                return None
            _, origin, build, _ = reductions[~action]
            return origin if build is None else None

        units: list[dict[str, dict[int, int]]] = [{} for _ in table]
        for state, actions in enumerate(table):
            for kind in actions:
                if passes(state, kind) is None:
                    continue
                ends = units[state][kind] = {}
                for under in below[state]:
                    top = state
                    while (origin := passes(top, kind)) is not None and top != self._end:
                        top = table[under][origin]
                    ends[under] = top
        return units

    def parse(self, tokens: Sequence[Token]) -> Any:
        """The value the builder gives the start rule, or `UnexpectedToken`."""
        table = self._table
        reductions = self._reductions
        units = self._units
        end_state = self._end
        states = [self._start]
        values: list[Any] = []
        last = tokens[-1].end if tokens else 0
        for token in (*tokens, Token(END, "", last, last)):
            kind = token.type
            while True:
                state = states[-1]
                action = table[state].get(kind)
                if action is None:
                    raise UnexpectedToken(token, self._expected[state])
                if action >= 0:
                    states.append(action)
                    values.append(token)
                    break
                size, origin, build, spread = reductions[~action]
                if build is None:  # pass-through rules: only the top state changes
                    state = states[-1] = units[state][kind][states[-2]]
                else:
                    if size:
                        children = values[-size:]
                        del values[-size:]
                        del states[-size:]
                    else:
                        children = []
                    values.append(build(*children) if spread else build(children))
                    state = table[states[-1]][origin]
                    states.append(state)
                if state == end_state:  # the start rule was reduced: only on $END
                    return values[-1]
        raise AssertionError("unreachable: $END always ends the parse")  # pragma: no cover


def _parser_spec(lark: Lark) -> dict[str, Any]:
    from lark.parsers.lalr_analysis import Shift

    (start,) = lark.options.start
    table = lark.parser.parser.parser.parse_table
    rules: dict[Rule, int] = {}
    states: list[dict[str, int]] = []
    for state in range(len(table.states)):
        actions = {}
        for symbol, (action, target) in table.states[state].items():
            if action is Shift:
                actions[symbol] = target
            else:
                actions[symbol] = ~rules.setdefault(target, len(rules))
        states.append(actions)
    built = [[len(rule.expansion), rule.origin.name,
              _rule_build(rule, lark.options.maybe_placeholders)] for rule in rules]
    return _canonical(states, built, table.start_states[start], table.end_states[start])


def _canonical(states: list[dict[str, int]], rules: list[list[Any]], start: int, end: int
               ) -> dict[str, Any]:
    """The same tables numbered in an order of their own: states as a breadth-first walk from
    the start state meets them (symbols in sorted order), rules as those states first reduce by
    them. Lark numbers both in an order that changes from one process to the next, so this is
    what makes an export of the same grammar the same data every time."""
    order = [start]
    seen = {start}
    for state in order:  # grows as it goes
        for symbol in sorted(states[state]):
            target = states[state][symbol]
            if target >= 0 and target not in seen:
                seen.add(target)
                order.append(target)
    order += [state for state in range(len(states)) if state not in seen]  # none in practice
    state_number = {old: new for new, old in enumerate(order)}
    rule_number: dict[int, int] = {}
    for state in order:
        for symbol in sorted(states[state]):
            action = states[state][symbol]
            if action < 0:
                rule_number.setdefault(~action, len(rule_number))
    for rule in range(len(rules)):  # rules no state reduces by, if any, keep their order
        rule_number.setdefault(rule, len(rule_number))
    renumbered = [
        {symbol: state_number[a] if a >= 0 else ~rule_number[~a]
         for symbol, a in sorted(states[state].items())}
        for state in order
    ]
    by_number = sorted(rule_number, key=rule_number.__getitem__)
    return {"states": renumbered, "rules": [rules[rule] for rule in by_number],
            "start": state_number[start], "end": state_number[end]}


def _rule_build(rule: Rule, maybe_placeholders: bool) -> dict[str, Any] | None:
    """What a reduction by `rule` builds, as Lark's tree builder does (see
    lark.parse_tree_builder.maybe_create_child_filter), as data for `_build_fn`: None passes the
    only child up unchanged; otherwise the builder method's name (None for a helper rule, whose
    children go to its parent), whether the children are filtered and how (`plan`: for each
    child kept, its index, whether it is spliced and how many Nones go before it; `trailing`
    Nones after the last), and whether a single child left passes up unchanged."""
    expansion = rule.expansion
    empty = list(rule.options.empty_indices) if maybe_placeholders else []
    # How many None placeholders go before each symbol (and after the last one).
    nones = [len(run) for run in "".join(str(int(b)) for b in empty).split("0")] if empty \
        else [0] * (len(expansion) + 1)
    plan: list[list[Any]] = []  # [child index, splice it, Nones before it]
    pending = 0
    for i, symbol in enumerate(expansion):
        pending += nones[i]
        filtered_out = symbol.is_term and getattr(symbol, "filter_out", False)  # on Terminals
        if rule.options.keep_all_tokens or not filtered_out:
            plan.append([i, not symbol.is_term and symbol.name.startswith("_"), pending])
            pending = 0
    trailing = pending + nones[len(expansion)]
    filtered = bool(empty) or len(plan) < len(expansion) or any(s for _, s, _ in plan)
    helper = rule.origin.name.startswith("_")
    passes_single = bool(rule.options.expand1 and not rule.alias)
    if not helper and passes_single and not filtered and len(expansion) == 1:
        return None
    name = None if helper else str(rule.alias or rule.options.template_source
                                   or rule.origin.name)
    return {"rule": str(rule), "method": name, "filtered": filtered, "plan": plan,
            "trailing": trailing, "passes_single": passes_single}


def _build_fn(build: Mapping[str, Any] | None, builder: object
              ) -> tuple[Callable[..., Any] | None, bool]:
    """How a reduction builds its value (see `_rule_build`): a function, and whether it takes
    the children as arguments (True) or as one list. None passes the only child up."""
    if build is None:
        return None, False
    plan = [(int(i), bool(splice), int(before)) for i, splice, before in build["plan"]]
    trailing = int(build["trailing"])
    filtered, passes_single = bool(build["filtered"]), bool(build["passes_single"])

    def children_of(children: list[Any]) -> list[Any]:
        out: list[Any] = []
        for i, splice, before in plan:
            out += [None] * before
            if splice:
                out += children[i]
            else:
                out.append(children[i])
        return out + [None] * trailing

    name = build["method"]
    if name is None:  # a helper rule: its children go to the parent
        return children_of, False
    method = getattr(builder, str(name), None)
    if method is None:
        raise NotImplementedError(f"the builder has no method {name} for rule {build['rule']}")
    if not filtered and not passes_single:
        return method, True

    def build_value(children: list[Any]) -> Any:
        kept = children_of(children) if filtered else children
        if passes_single and len(kept) == 1:
            return kept[0]
        return method(*kept)

    return build_value, False
