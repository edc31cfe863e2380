"""Answer keys after review: located [quiz] and table problems, lint lines naming the file,
reject examples that do not parse, a layout-keeping atomic `add`, flag-located authoring errors."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mathgrader.keys import KeyProblem, load_key, parse_key
from mathgrader.keys.edit import KeyWriteError, add_question, new_key
from mathgrader.keys.lint import lint_key

KEY = """\
[quiz]
id = "q1"
title = "Quiz one"

[[questions]]
id = "a"
answer = "2*x"
accept = ["x*2", "2*x"]
reject = ["x^2"]
"""


# --- unknown fields and tables are located ------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        (KEY.replace('title = "Quiz one"', 'title = "Quiz one"\ntitel = "x"'), 4, 1,
         "unknown field 'titel' in [quiz]"),
        (KEY.replace('title = "Quiz one"\n',
                     'title = "Quiz one"\nquestions = [ {id = "b", answer = "x"} ]\n'), 4, 1,
         "[[questions]] is a table of its own"),
        (KEY.replace('title = "Quiz one"\n', 'title = "Quiz one"\n\n[quiz.meta]\nterm = 1\n'),
         5, 7, "unknown field 'meta' in [quiz]"),
        (KEY.replace("[[questions]]", "[[question]]"), 5, 3, "unknown table 'question'"),
        (KEY + '\nextra = 1\n'.replace("extra", "[settings]\nextra"), 11, 2,
         "unknown table 'settings'"),
    ],
    ids=["quiz-typo", "quiz-inline-questions", "quiz-subtable", "question-table", "other-table"],
)
def test_unknown_quiz_fields_and_tables_are_located(text: str, line: int, column: int,
                                                     words: str) -> None:
    with pytest.raises(KeyProblem) as caught:
        parse_key(text, "quiz.toml")
    problem = caught.value
    assert words in str(problem)
    assert (problem.line, problem.column) == (line, column), str(problem)
    assert str(problem).startswith(f"quiz.toml:{line}:{column}: ")


def test_quiz_id_is_located_in_the_quiz_table_not_at_the_first_id() -> None:
    text = '[[questions]]\nid = "a"\nanswer = "x"\n\n[quiz]\nid = "bad id"\n'
    with pytest.raises(KeyProblem) as caught:
        parse_key(text, "quiz.toml")
    assert (caught.value.line, caught.value.column) == (6, 7)


# --- lint names the file and the line and column of each string ---------------------------------

def _lint_lines(text: str) -> list[str]:
    return [line for report in lint_key(parse_key(text, "keys/quiz.toml"))
            for line in report.lines()]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (KEY.replace('reject = ["x^2"]', 'reject = ["x^2", "2*x"]'),
         "FAIL  keys/quiz.toml:9:19: q1/a: reject '2*x' graded correct"),
        (KEY.replace('accept = ["x*2", "2*x"]', 'accept = ["x*2", "3*x"]'),
         "FAIL  keys/quiz.toml:8:19: q1/a: accept '3*x' graded incorrect"),
        # an array over several lines, the same string twice: each entry is found in turn
        (KEY.replace('accept = ["x*2", "2*x"]',
                     'accept = [\n  "x*2",\n  "x*2",\n  "3*x",\n]'),
         "FAIL  keys/quiz.toml:11:4: q1/a: accept '3*x' graded incorrect"),
        (KEY.replace('answer = "2*x"', 'answer = "ln(0*x) + x"')
            .replace('accept = ["x*2", "2*x"]\n', "").replace('reject = ["x^2"]\n', ""),
         "FAIL  keys/quiz.toml:7:11: q1/a: the reference 'ln(0*x) + x' cannot be graded"),
    ],
    ids=["reject", "accept", "multi-line-array", "reference"],
)
def test_lint_failures_name_file_line_and_column(text: str, expected: str) -> None:
    lines = _lint_lines(text)
    assert any(line.startswith(expected) for line in lines), lines


def test_lint_gives_one_line_per_failure() -> None:
    text = KEY.replace('accept = ["x*2", "2*x"]', 'accept = ["3*x", "4*x"]')
    lines = _lint_lines(text)
    assert [line.split(" graded")[0] for line in lines] == [
        "FAIL  keys/quiz.toml:8:12: q1/a: accept '3*x'",
        "FAIL  keys/quiz.toml:8:19: q1/a: accept '4*x'",
    ]


@pytest.mark.parametrize("example", ["x+", "(x", "x)", "", "x $ 2"])
def test_a_reject_example_that_does_not_parse_fails(example: str) -> None:
    # It can never grade correct, so it tests nothing: most likely a typo of the author.
    report = lint_key(parse_key(KEY.replace('reject = ["x^2"]', f'reject = ["{example}"]'),
                                "quiz.toml"))[0]
    assert not report.ok
    assert f"reject {example!r} does not parse" in report.line()
    assert report.line().startswith("FAIL  quiz.toml:9:12: q1/a: ")


@pytest.mark.parametrize("example", ["3x", "sin x", "Sin(x)"])
def test_a_reject_example_with_a_named_learner_mistake_still_holds(example: str) -> None:
    # `3x` is the answer a learner writes: the example checks they get the hint, not credit.
    report = lint_key(parse_key(KEY.replace('reject = ["x^2"]', f'reject = ["{example}"]'),
                                "quiz.toml"))[0]
    assert report.ok, report.line()


# --- key add: layout, line endings, atomic replacement ------------------------------------------

def test_add_to_a_new_key_leaves_blank_lines_between_tables(tmp_path: Path) -> None:
    path = tmp_path / "n1.toml"
    new_key(path, "n1", "T")
    add_question(path, {"id": "a", "answer": "x"})
    add_question(path, {"id": "b", "answer": "2*x"})
    assert path.read_text() == (
        "# Answer key: mathgrader key lint checks it, key add extends it.\n\n"
        '[quiz]\nid = "n1"\ntitle = "T"\n\n'
        '[[questions]]\nid = "a"\nanswer = "x"\n\n'
        '[[questions]]\nid = "b"\nanswer = "2*x"\n'
    )


def test_add_before_a_following_table_keeps_it_apart_with_its_comment(tmp_path: Path) -> None:
    path = tmp_path / "key.toml"
    tail = "\n# tolerance for every question\n[defaults]\nrelative_tolerance = 1e-3\n"
    path.write_text(KEY + tail)
    add_question(path, {"id": "b", "answer": "x"})
    assert path.read_text() == (
        KEY + '\n[[questions]]\nid = "b"\nanswer = "x"\n' + tail)


def test_add_keeps_crlf_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "key.toml"
    original = ("# written on Windows\n" + KEY + "\n[defaults]\nform = \"any\"\n").replace(
        "\n", "\r\n")
    path.write_bytes(original.encode())
    add_question(path, {"id": "b", "prompt": "Say x.", "answer": "x",
                        "variables": {"x": "real"}, "accept": ["1*x"]})
    data = path.read_bytes()
    assert b"\n" not in data.replace(b"\r\n", b"")  # every line ends in CRLF
    text = data.decode()
    assert text.startswith(original.split("[defaults]")[0])
    assert text.endswith('\r\n[[questions]]\r\nid = "b"\r\nprompt = "Say x."\r\nanswer = "x"\r\n'
                         'variables = {x = "real"}\r\naccept = ["1*x"]\r\n\r\n'
                         '[defaults]\r\nform = "any"\r\n')
    assert load_key(path).question("b").accept == ("1*x",)


def test_add_replaces_the_file_atomically_and_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "key.toml"
    path.write_text(KEY)
    path.chmod(0o640)
    link = tmp_path / "link.toml"
    link.symlink_to(path.name)
    before = path.stat().st_ino
    add_question(link, {"id": "b", "answer": "x"})
    # A new file renamed over the old one (a reader never sees half a file), not rewritten in
    # place; the link still points at it, nothing is left behind.
    assert path.stat().st_ino != before
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert link.is_symlink()
    assert load_key(link).question("b").reference == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.toml", "link.toml"]


def test_add_that_cannot_write_leaves_the_file_and_no_temporary(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    path = tmp_path / "key.toml"
    path.write_text(KEY)

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(KeyWriteError) as caught:
        add_question(path, {"id": "b", "answer": "x"})
    assert str(caught.value) == f"cannot write {path}: No space left on device"
    assert path.read_text() == KEY
    assert [p.name for p in tmp_path.iterdir()] == ["key.toml"]


# --- key new: unwritable paths ------------------------------------------------------------------

def test_new_in_a_missing_folder_says_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "nodir" / "x.toml"
    with pytest.raises(KeyWriteError) as caught:
        new_key(path, "q1", "T")
    assert str(caught.value) == (f"cannot write {path}: No such file or directory "
                                 f"(the folder {path.parent} does not exist)")
    assert isinstance(caught.value, KeyProblem)


# --- values from the command line are located by their flag -------------------------------------

@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ({"id": "b", "answer": "3x"},
         "--answer \"3x\" (column 2): answer '3x' does not parse: A '*' is missing"),
        ({"id": "b", "answer": "x + sin x"},
         "--answer \"x + sin x\" (column 5): answer 'x + sin x' does not parse"),
        ({"id": "bad id!", "answer": "x"}, '--id "bad id!": the question id must be'),
        ({"id": "a", "answer": "x"}, "--id \"a\": the quiz already has a question 'a' on line 5"),
        ({"id": "b", "answer": "x", "variables": {"x": "sometimes"}},
         "--variable: the domain of x must be"),
    ],
    ids=["expression", "expression-column", "bad-id", "duplicate-id", "domain"],
)
def test_add_names_the_flag_not_a_line_of_an_unwritten_file(
        tmp_path: Path, question: dict[str, object], expected: str) -> None:
    path = tmp_path / "key.toml"
    path.write_text(KEY)
    with pytest.raises(KeyProblem) as caught:
        add_question(path, question)
    assert str(caught.value).startswith(expected), str(caught.value)
    assert caught.value.line is None
    assert path.read_text() == KEY


def test_add_still_locates_problems_of_the_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "key.toml"
    path.write_text(KEY.replace('title = "Quiz one"', 'title = "Quiz one"\ntitel = "x"'))
    with pytest.raises(KeyProblem) as caught:
        add_question(path, {"id": "b", "answer": "x"})
    assert str(caught.value).startswith(f"{path}:4:1: unknown field 'titel' in [quiz]")


def test_new_names_the_quiz_flag(tmp_path: Path) -> None:
    path = tmp_path / "n2.toml"
    with pytest.raises(KeyProblem) as caught:
        new_key(path, "bad id!", "T")
    assert str(caught.value).startswith('--quiz "bad id!": [quiz] id must be')
    assert caught.value.line is None
    assert not path.exists()
