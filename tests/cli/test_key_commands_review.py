"""`mathgrader key ...` after review: clean errors for unwritable files, lint lines naming the
file, text in brackets shown as written, flag-located authoring errors, located [quiz] fields."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mathgrader.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


@pytest.mark.parametrize("where", ["nodir/x.toml", "/proc/x.toml"])
def test_new_in_an_unwritable_place_is_a_one_line_error(tmp_path: Path, where: str) -> None:
    path = where if where.startswith("/") else str(tmp_path / where)
    code, output = _run("key", "new", path, "--quiz", "q1", "--title", "T")
    assert code == 2
    assert output.startswith(f"error: cannot write {path}: No such file or directory")
    assert output.count("\n") == 1
    assert "Traceback" not in output


def test_lint_names_the_file_of_each_failure(tmp_path: Path) -> None:
    calculus = tmp_path / "calculus.toml"
    calculus.write_text((EXAMPLES / "calculus.toml").read_text())
    broken = tmp_path / "ex.toml"
    broken.write_text('[quiz]\nid = "q"\ntitle = "T"\n\n[[questions]]\nid = "a"\n'
                      'answer = "2*x"\naccept = ["x*2", "2x"]\nreject = ["x+"]\n')
    code, output = _run("key", "lint", str(calculus), str(broken))
    assert code == 1
    fails = [line for line in output.splitlines() if line.startswith("FAIL")]
    assert fails == [
        f"FAIL  {broken}:8:19: q/a: accept '2x' graded invalid (A '*' is missing between 2 "
        "and x.)",
        f"FAIL  {broken}:9:12: q/a: reject 'x+' does not parse (The expression ends too early,"
        " after '+'.), so it tests nothing: write the wrong answer a learner would give",
    ]


def test_help_shows_bracketed_text() -> None:
    code, output = _run("key", "new", "--help")
    assert code == 0
    assert "Create an answer key with its [quiz] table." in output


def test_show_keeps_bracketed_text_of_the_key(tmp_path: Path) -> None:
    path = tmp_path / "c1.toml"
    assert _run("key", "new", str(path), "--quiz", "c1", "--title", "Week [1]")[0] == 0
    assert _run("key", "add", str(path), "--id", "new-q", "--answer", "2*x",
                "--prompt", "Differentiate x^2 [on an interval]",
                "--variable", "x=[0, 1]")[0] == 0
    code, output = _run("key", "show", str(path))
    assert code == 0
    assert "Week [1] (c1)" in output
    flat = " ".join(output.split())
    assert "[on an interval]" in flat or "[on an │ │ │ interval]" in flat, output
    assert "'x': [0," in output  # the options column


def test_add_errors_name_the_flag(tmp_path: Path) -> None:
    path = tmp_path / "c1.toml"
    path.write_text((EXAMPLES / "calculus.toml").read_text())
    code, output = _run("key", "add", str(path), "--id", "bad", "--answer", "3x")
    assert code == 2
    assert output.startswith("error: --answer \"3x\" (column 2): answer '3x' does not parse")
    assert "c1.toml:" not in output
    code, output = _run("key", "new", str(tmp_path / "n2.toml"), "--quiz", "bad id!",
                        "--title", "T")
    assert code == 2
    assert output.startswith('error: --quiz "bad id!": [quiz] id must be')


def test_add_keeps_blank_lines_around_the_new_question(tmp_path: Path) -> None:
    path = tmp_path / "n1.toml"
    assert _run("key", "new", str(path), "--quiz", "n1", "--title", "T")[0] == 0
    assert _run("key", "add", str(path), "--id", "a", "--answer", "x")[0] == 0
    path.write_text(path.read_text() + "[defaults]\nform = \"any\"\n")
    assert _run("key", "add", str(path), "--id", "b", "--answer", "x")[0] == 0
    assert path.read_text().endswith(
        '\ntitle = "T"\n\n[[questions]]\nid = "a"\nanswer = "x"\n\n'
        '[[questions]]\nid = "b"\nanswer = "x"\n\n[defaults]\nform = "any"\n')


def test_lint_locates_unknown_quiz_fields_and_tables(tmp_path: Path) -> None:
    typo = tmp_path / "typo.toml"
    typo.write_text('[quiz]\nid = "q"\ntitel = "x"\n\n[[questions]]\nid = "a"\nanswer = "x"\n')
    table = tmp_path / "table.toml"
    table.write_text('[quiz]\nid = "q"\n\n[[question]]\nid = "a"\nanswer = "x"\n')
    code, output = _run("key", "lint", str(typo), str(table))
    assert code == 2
    assert f"error {typo}:3:1: unknown field 'titel' in [quiz]" in output
    assert f"error {table}:4:3: unknown table 'question'" in output


def test_add_refuses_questions_hidden_in_the_quiz_table(tmp_path: Path) -> None:
    path = tmp_path / "key.toml"
    text = ('[quiz]\nid = "q"\ntitle = "T"\nquestions = [ {id = "a", answer = "x"} ]\n')
    path.write_text(text)
    code, output = _run("key", "add", str(path), "--id", "b", "--answer", "x")
    assert code == 2
    assert f"{path}:4:1: unknown field 'questions' in [quiz]" in output
    assert path.read_text() == text  # nothing is lost
