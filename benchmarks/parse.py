"""Parsing: the grammar's LALR tables run by `language/lalr.py` against Lark's own runtime.

Every distinct answer text of the `unique` workload (`workload.py`) is parsed, in the same run
and interleaved round by round, by:

- grammar, new: `lalr.Lexer` + `lalr.Parser` building `ast` nodes (what `parse_tree` runs);
- grammar, stock: Lark's `BasicLexer` + LALR parser + the Transformer the parser module used
  before (below), on the same grammar file: the runtime `lalr.py` replaces;
- parse_tree, new: the whole learner pipeline (character, token and tree checks included);
- parse_tree, old: the same pipeline from `src/mathgrader/language/parser.py` at `--old REV`
  (by default the last revision that ran Lark's parser), loaded from git; `--old none` skips it.

In each round the parsers take `--passes` turns at the texts; the figures are medians over
`--rounds` rounds of the microseconds per parse, and ratios are medians of the per-round
ratios, so load shared with other work on the machine affects both sides alike. Results go to
`benchmarks/results/parse.json`; a markdown table is printed.

    .venv/bin/python benchmarks/parse.py [--rounds N] [--passes N] [--old REV|none]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

from grading import run_header, write_results
from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError
from workload import unique_items

from mathgrader import InputError
from mathgrader.language import ast, lalr, parser
from mathgrader.language.table import CONSTANTS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
# The last commit whose parser module ran Lark's own lexer and LALR parser.
LARK_RUNTIME_REV = "903146453c36811ff358f18df3fdeba6af21cf06"


@v_args(inline=True)
class StockBuilder(Transformer[Token, Any]):
    """The Transformer the parser module gave Lark's LALR parser (same nodes as `_Builder`)."""

    def number(self, token: Token) -> ast.Number:
        text = str(token)
        return ast.Number(token.start_pos or 0, token.end_pos or 0, text, Fraction(text),
                          "." in text or "e" in text)

    def name(self, token: Token) -> ast.Node:
        kind = ast.Constant if str(token) in CONSTANTS else ast.Name
        return kind(token.start_pos or 0, token.end_pos or 0, str(token))

    def call(self, name: Token, _lpar: Token, args: list[ast.Node], rpar: Token) -> ast.Call:
        return ast.Call(name.start_pos or 0, rpar.end_pos or 0, str(name), tuple(args),
                        name.end_pos or 0)

    def arguments(self, *parts: Any) -> list[ast.Node]:
        return [p for p in parts if isinstance(p, ast.Node)]

    def group(self, lpar: Token, inner: ast.Node, rpar: Token) -> ast.Group:
        return ast.Group(lpar.start_pos or 0, rpar.end_pos or 0, inner)

    def tuple(self, lpar: Token, *rest: Any) -> ast.Sequence:
        items = tuple(p for p in rest if isinstance(p, ast.Node))
        return ast.Sequence(lpar.start_pos or 0, rest[-1].end_pos or 0, items, "(")

    def bracket(self, lsqb: Token, *rest: Any) -> ast.Sequence:
        items = tuple(p for p in rest if isinstance(p, ast.Node))
        return ast.Sequence(lsqb.start_pos or 0, rest[-1].end_pos or 0, items, "[")

    def _binary(self, left: ast.Node, op: Token, right: ast.Node) -> ast.Binary:
        return ast.Binary(left.start, right.end, str(op), left, right)

    add = sub = mul = div = pow = _binary

    def _unary(self, op: Token, operand: ast.Node) -> ast.Unary:
        return ast.Unary(op.start_pos or 0, operand.end, str(op), operand)

    neg = pos = _unary

    def start(self, *parts: Any) -> tuple[ast.Node, ...]:
        return tuple(p for p in parts if isinstance(p, ast.Node))


def answer_texts() -> list[str]:
    return list(dict.fromkeys(item["answer"] for item in unique_items()))


def _or_none(parse: Callable[[str], Any],
             refusals: tuple[type[Exception], ...]) -> Callable[[str], Any]:
    """`parse`, with the text it refuses answered None: refused answers are timed too."""
    def run(text: str) -> Any:
        try:
            return parse(text)
        except refusals:
            return None
    return run


def new_grammar() -> Callable[[str], Any]:
    lexer, table = parser._lexer(), parser._lalr()
    return _or_none(lambda text: table.parse(lexer.lex(text)),
                    (lalr.UnexpectedCharacter, lalr.UnexpectedToken))


def stock_grammar() -> Callable[[str], Any]:
    stock = Lark(parser._grammar_text(), parser="lalr", lexer="basic", maybe_placeholders=True,
                 transformer=StockBuilder())
    return _or_none(stock.parse, (LarkError,))


def pipeline(module: ModuleType) -> Callable[[str], Any]:
    return _or_none(module.parse_tree, (InputError,))


def old_parser_module(rev: str, workdir: Path) -> ModuleType:
    """`language/parser.py` as it was at `rev`, imported beside today's package."""
    source = subprocess.run(["git", "show", f"{rev}:src/mathgrader/language/parser.py"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout
    path = workdir / "parser_at_rev.py"
    path.write_text(source, encoding="utf-8")
    name = "mathgrader.language._parser_at_rev"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    module._grammar_text = parser._grammar_text  # it looks for the grammar next to its file
    return module


def rounds_of(runners: dict[str, Callable[[str], Any]], texts: list[str], rounds: int,
              passes: int) -> dict[str, list[float]]:
    """Microseconds per parse of every runner, round by round: in each round the runners take
    `passes` turns at the texts, in an order that rotates from round to round."""
    for run in runners.values():  # warm: caches built, code paths visited
        for text in texts:
            run(text)
    names = list(runners)
    per_round: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        seconds = dict.fromkeys(names, 0.0)
        for _ in range(passes):  # the runners take turns, so a burst of load hits them alike
            for name in names[r % len(names):] + names[:r % len(names)]:
                run = runners[name]
                started = time.perf_counter()
                for text in texts:
                    run(text)
                seconds[name] += time.perf_counter() - started
        for name in names:
            per_round[name].append(seconds[name] / (passes * len(texts)) * 1e6)
    return per_round


def summary(per_round: dict[str, list[float]], pairs: list[tuple[str, str]]
            ) -> dict[str, Any]:
    out: dict[str, Any] = {
        "us_per_parse": {name: round(statistics.median(v), 2) for name, v in per_round.items()},
        "us_per_parse_rounds": {name: [round(x, 2) for x in v] for name, v in per_round.items()},
        "ratios": {},
    }
    for baseline, new in pairs:
        ratios = [b / n for b, n in zip(per_round[baseline], per_round[new], strict=True)]
        out["ratios"][f"{baseline} / {new}"] = {
            "median": round(statistics.median(ratios), 2),
            "min": round(min(ratios), 2),
            "max": round(max(ratios), 2),
        }
    return out


def outcomes(texts: list[str]) -> dict[str, int]:
    parsed = sum(pipeline(parser)(text) is not None for text in texts)
    return {"texts": len(texts), "parsed": parsed, "refused": len(texts) - parsed}


def tables(results: dict[str, Any]) -> str:
    counts, settings = results["outcomes"], results["settings"]
    lines = [f"{counts['texts']} answer texts ({counts['parsed']} parse, {counts['refused']}"
             f" refused), median of {settings['rounds']} rounds of {settings['passes']} passes",
             "", "| parser | us per parse |", "|---|---:|"]
    lines += [f"| {name} | {value:,.1f} |" for name, value in results["us_per_parse"].items()]
    lines += ["", "| ratio | median | range over rounds |", "|---|---:|---:|"]
    lines += [f"| {name} | {r['median']:.2f}x | {r['min']:.2f}-{r['max']:.2f} |"
              for name, r in results["ratios"].items()]
    return "\n".join(lines)


def no_chart(results: dict[str, Any], path: Path) -> bool:
    """A table says it all: two figures and their ratio."""
    return False


def main(argv: list[str] | None = None) -> int:
    parser_args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser_args.add_argument("--rounds", type=int, default=15)
    parser_args.add_argument("--passes", type=int, default=4,
                             help="passes over the texts per parser and round")
    parser_args.add_argument("--old", default=LARK_RUNTIME_REV,
                             help="git revision of the old parser module, or 'none'")
    parser_args.add_argument("--out", type=Path, default=RESULTS)
    args = parser_args.parse_args(argv)
    started = time.perf_counter()
    load_at_start = os.getloadavg()
    texts = answer_texts()
    runners = {"grammar, stock Lark": stock_grammar(), "grammar, lalr.py": new_grammar(),
               "parse_tree, new": pipeline(parser)}
    pairs = [("grammar, stock Lark", "grammar, lalr.py")]
    with tempfile.TemporaryDirectory(prefix="mathgrader-parse-") as tmp:
        if args.old != "none":
            runners["parse_tree, old"] = pipeline(old_parser_module(args.old, Path(tmp)))
            pairs.append(("parse_tree, old", "parse_tree, new"))
        print(f"{len(texts)} texts, {args.rounds} rounds: {', '.join(runners)}", file=sys.stderr)
        per_round = rounds_of(runners, texts, args.rounds, args.passes)
    results: dict[str, Any] = {
        **run_header(),
        "load_average_at_start": load_at_start,  # before the old parser was built
        "settings": {"rounds": args.rounds, "passes": args.passes, "old": args.old,
                     "workload": "unique answers"},
        "outcomes": outcomes(texts),
        **summary(per_round, pairs),
    }
    write_results(results, args.out, "parse", no_chart, tables, started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
