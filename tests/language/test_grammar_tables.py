"""The grammar's exported tables (`language/grammar_tables.json`): current, and used.

The parser runs the tables `lalr.export` took from Lark, read from a JSON file keyed by the
grammar, so that parsing never imports Lark; `test_lalr_driver.py` holds what they parse to
against stock Lark. Here: the file matches the grammar, a process that parses and grades leaves
Lark unimported, and a file that does not match (an edited grammar, a damaged file) is passed
over for Lark's own build of the grammar.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lark import Lark

from mathgrader import InputError
from mathgrader.language import lalr, parser

TEXTS = ["3*x^2 + 2", "-x^-2", "sin(x)^2 + cos(x)", "gcd((4, 6, 8))", "[1, 2]", "root(8, 3)",
         "2.5e-3*y", "((x))", "f()"]
BROKEN = ["3x", "sin x", "(x + 1", "x +", "2 3", "x ^^ 2", ")", "1,2"]


def _outcome(text: str) -> object:
    try:
        return [str(item) for item in parser.parse_tree(text, allow_list=True).items]
    except InputError as exc:
        return exc.to_dict()


def _clear() -> None:
    for cache in (parser._tables, parser._lexer, parser._lalr):
        cache.cache_clear()


@pytest.fixture
def use_file(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    """Point the parser at another tables file; the shipped one is read again afterwards."""
    def use(path: Path) -> None:
        monkeypatch.setattr(parser, "TABLES_FILE", path)
        _clear()

    yield use
    _clear()  # before monkeypatch restores the path: the next parse reads the shipped file


def test_the_tables_file_was_exported_from_this_grammar() -> None:
    data = json.loads(parser.TABLES_FILE.read_text(encoding="utf-8"))
    assert data["format"] == lalr.FORMAT
    assert data["grammar"] == parser._grammar_key(), (
        "grammar/mathgrader.lark changed since its tables were exported: run `make tables`")


def test_the_file_is_what_lark_exports_now() -> None:
    # The export numbers states and rules in an order of its own (Lark's changes from one
    # process to the next), so a fresh export of the same grammar is the same data.
    fresh = Lark(parser._grammar_text(), **parser._LARK_OPTIONS)
    data = json.loads(parser.TABLES_FILE.read_text(encoding="utf-8"))
    assert {**lalr.export(fresh), "grammar": parser._grammar_key()} == data, (
        "the exported tables differ from the file: run `make tables`")


def test_exports_agree_across_hash_seeds() -> None:
    code = ("import json, sys\n"
            "from lark import Lark\n"
            "from mathgrader.language import lalr, parser\n"
            "lark = Lark(parser._grammar_text(), **parser._LARK_OPTIONS)\n"
            "json.dump(lalr.export(lark), sys.stdout, sort_keys=True)\n")
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       timeout=120, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1


def test_the_parser_runs_the_file() -> None:
    data = json.loads(parser.TABLES_FILE.read_text(encoding="utf-8"))
    assert parser._tables() == data


def test_parsing_and_grading_leave_lark_unimported() -> None:
    code = (
        "import sys\n"
        "from mathgrader.language.parser import parse_tree\n"
        "from mathgrader.language.spacing import token_key\n"
        "from mathgrader.checker.grade import grade\n"
        "parse_tree('3*x^2 + sin(x)')\n"
        "assert token_key('3*x^2 + 2') is not None\n"
        "assert grade('x^2 - 1', '(x - 1)*(x + 1)').verdict == 'correct'\n"
        "assert grade('5*x', '5x').error['hint'] == 'write 5*x'\n"
        "print(sorted(m for m in sys.modules if m == 'lark' or m.startswith('lark.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=120)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("content", [
    None,  # no file
    "{not json",
    '{"format": 1, "grammar": "0000", "lexer": {}, "parser": {}}',  # another grammar's
    "KEY",  # this grammar's key, but the tables are missing
    "[]",
])
def test_a_file_that_does_not_match_is_passed_over_for_lark(
        tmp_path: Path, use_file: Callable[[Path], None], content: str | None) -> None:
    expected = [_outcome(text) for text in TEXTS + BROKEN]
    path = tmp_path / "grammar_tables.json"
    if content == "KEY":
        content = json.dumps({"format": lalr.FORMAT, "grammar": parser._grammar_key(),
                              "lexer": {"terminals": []}, "parser": {}})
    if content is not None:
        path.write_text(content, encoding="utf-8")
    use_file(path)
    tables = parser._tables()
    assert tables["grammar"] == parser._grammar_key()
    assert tables["lexer"]["terminals"]  # Lark's own build of this grammar
    assert [_outcome(text) for text in TEXTS + BROKEN] == expected


def test_written_tables_parse_as_the_shipped_ones(
        tmp_path: Path, use_file: Callable[[Path], None]) -> None:
    expected = [_outcome(text) for text in TEXTS + BROKEN]
    path = parser.write_tables(tmp_path / "tables.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tables.json"]  # no partial file left
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["grammar"] == parser._grammar_key()
    use_file(path)
    assert parser._tables() == data
    assert [_outcome(text) for text in TEXTS + BROKEN] == expected


def test_the_key_follows_the_grammar_and_the_options(monkeypatch: pytest.MonkeyPatch) -> None:
    key = parser._grammar_key()
    text = parser._grammar_text()
    monkeypatch.setattr(parser, "_grammar_text", lambda: text.replace("\n", "\r\n"))
    assert parser._grammar_key() == key  # line endings of a checkout do not matter
    monkeypatch.setattr(parser, "_grammar_text", lambda: text + "\n// a comment\n")
    assert parser._grammar_key() != key
    monkeypatch.setattr(parser, "_grammar_text", lambda: text)
    monkeypatch.setitem(parser._LARK_OPTIONS, "maybe_placeholders", False)
    assert parser._grammar_key() != key
