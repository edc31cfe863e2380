"""Answer keys: validation errors located by file, question and line; lint; authoring commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mathgrader.cli import app
from mathgrader.keys import KeyProblem, UnknownQuestion, load_key, load_resolver, parse_key

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

GOOD = """\
# a comment the author wrote
[quiz]
id = "q1"
title = "Quiz one"

[defaults]
relative_tolerance = 1e-3

[[questions]]
id = "a"   # inline comment
prompt = "Differentiate x^2."
answer = "2*x"
accept = ["x*2"]
reject = ["x^2"]
"""


def test_examples_lint_clean() -> None:
    result = runner.invoke(app, ["key", "lint", *map(str, sorted(EXAMPLES.glob("*.toml")))])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok ") >= 16


def test_examples_use_every_option() -> None:
    used: set[str] = set()
    forms: set[str] = set()
    domains: set[str] = set()
    for path in EXAMPLES.glob("*.toml"):
        key = load_key(path)
        assert len(key.questions) >= 8
        for question in key.questions:
            used |= set(question.options)
            forms.add(question.options.get("form", "any"))
            for domain in question.options.get("variables", {}).values():
                domains.add(domain if isinstance(domain, str) else "interval")
    assert {"relative_tolerance", "absolute_tolerance", "variables", "form", "forbid",
            "answers", "list", "feedback"} <= used
    assert {"expanded", "factored", "simplified", "numeric", "exact", "lowest_terms"} <= forms
    assert {"real", "positive", "integer", "complex", "interval"} <= domains


def test_defaults_apply_and_questions_resolve() -> None:
    key = parse_key(GOOD, "good.toml")
    question = key.question("q1/a")
    assert question.options["relative_tolerance"] == 1e-3
    assert key.question("a") is question
    with pytest.raises(UnknownQuestion):
        key.question("q1/missing")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (GOOD.replace('title = "Quiz one"', 'title = "Quiz one'), 4, "TOML syntax error"),
        (GOOD.replace('answer = "2*x"', 'answer = "2x"'), 12, "does not parse"),
        (GOOD.replace('answer = "2*x"', 'answer = "2*x"\ncolour = "red"'), 13, "unknown field"),
        (GOOD + '\n[[questions]]\nid = "a"\nanswer = "1"\n', 16, "used twice"),
        (GOOD.replace("relative_tolerance = 1e-3", "relative_tolerance = -1"), 7, ">= 0"),
        (GOOD.replace('answer = "2*x"', 'answer = "2*x"\nform = "pretty"'), 13, "form"),
        (GOOD.replace('[quiz]\nid = "q1"', '[quiz]\nid = "has space"'), 3, "[quiz] id"),
    ],
    ids=["toml-syntax", "expression", "unknown-field", "duplicate-id", "bad-default",
         "bad-form", "bad-quiz-id"],
)
def test_problems_name_file_question_and_line(text: str, line: int, words: str) -> None:
    with pytest.raises(KeyProblem) as caught:
        parse_key(text, "quiz.toml")
    problem = caught.value
    assert problem.path == "quiz.toml"
    assert words in str(problem)
    assert problem.line == line, str(problem)


def test_expression_error_column_points_into_the_string() -> None:
    with pytest.raises(KeyProblem) as caught:
        parse_key(GOOD.replace('answer = "2*x"', 'answer = "2x"'), "quiz.toml")
    problem = caught.value
    assert problem.question == "a"
    # answer = "2x": the string starts at column 11; the x is its second character.
    assert problem.column == 12
    assert "write 2*x" in str(problem)


def test_lint_exit_codes(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    assert runner.invoke(app, ["key", "lint", str(good)]).exit_code == 0
    failing = tmp_path / "failing.toml"
    failing.write_text(GOOD.replace('reject = ["x^2"]', 'reject = ["2*x"]'))
    result = runner.invoke(app, ["key", "lint", str(failing)])
    assert result.exit_code == 1
    assert f"FAIL  {failing}:14:12: q1/a: reject '2*x' graded correct" in result.output
    broken = tmp_path / "broken.toml"
    broken.write_text("[quiz\n")
    result = runner.invoke(app, ["key", "lint", str(good), str(broken)])
    assert result.exit_code == 2
    assert "broken.toml:1" in result.output


@pytest.mark.parametrize("reference", ["(3*x + 1)/(x^2 - x*x)", "ln(0*x) + x"],
                         ids=["a pole everywhere", "a log of zero"])
def test_lint_refuses_a_reference_that_cannot_be_graded(tmp_path: Path, reference: str) -> None:
    # Without examples such a key would load, and every learner would get the checker's error.
    path = tmp_path / "unusable.toml"
    path.write_text(GOOD.replace('answer = "2*x"', f'answer = "{reference}"')
                    .replace('accept = ["x*2"]\n', "").replace('reject = ["x^2"]\n', ""))
    result = runner.invoke(app, ["key", "lint", str(path)])
    assert result.exit_code == 1
    assert "cannot be graded" in result.output


def test_new_and_add_keep_comments(tmp_path: Path) -> None:
    path = tmp_path / "new.toml"
    assert runner.invoke(
        app, ["key", "new", str(path), "--quiz", "w1", "--title", "Week 1"]
    ).exit_code == 0
    assert runner.invoke(
        app, ["key", "new", str(path), "--quiz", "w1", "--title", "Week 1"]
    ).exit_code == 2
    path.write_text(path.read_text() + "# keep this comment\n")
    result = runner.invoke(app, [
        "key", "add", str(path), "--id", "deriv", "--answer", "2*x",
        "--prompt", "Differentiate x^2.", "--variable", "x=real",
        "--accept", "x*2", "--reject", "x^2",
    ])
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert "# keep this comment" in text
    key = load_key(path)
    assert key.question("deriv").accept == ("x*2",)
    assert runner.invoke(app, ["key", "lint", str(path)]).exit_code == 0
    duplicate = runner.invoke(app, ["key", "add", str(path), "--id", "deriv", "--answer", "1"])
    assert duplicate.exit_code == 2
    assert "error: --id \"deriv\": the quiz already has a question 'deriv'" in duplicate.output
    bad = runner.invoke(app, ["key", "add", str(path), "--id", "other", "--answer", "3x"])
    assert bad.exit_code == 2
    assert load_key(path).questions[-1].id == "deriv"  # nothing written on error


def test_show_lists_questions_with_previews() -> None:
    result = runner.invoke(app, ["key", "show", str(EXAMPLES / "calculus.toml")])
    assert result.exit_code == 0
    assert "power-rule" in result.output
    assert "3*x^2 + 2" in result.output


def test_resolver_maps_lines_to_items() -> None:
    resolve = load_resolver(EXAMPLES)
    item = resolve({"id": "1", "question": "calc1-week2/power-rule", "answer": "3*x^2+2"})
    assert item["reference"] == "3*x^2 + 2"
    assert item["answer"] == "3*x^2+2"
    with pytest.raises(UnknownQuestion):
        resolve({"id": "2", "question": "calc1-week2/nope", "answer": "1"})
    with pytest.raises(ValueError):
        resolve({"id": "3", "answer": "1"})


@pytest.mark.parametrize(
    ("extra", "field"),
    [({"reference": "5*x"}, "reference"), ({"options": {"form": "expanded"}}, "options")],
    ids=["reference", "options"],
)
def test_resolver_refuses_a_line_that_grades_itself(extra: dict[str, object], field: str) -> None:
    # The key decides the reference and options; a line's own would be ignored silently.
    resolve = load_resolver(EXAMPLES)
    line = {"id": "1", "question": "calc1-week2/power-rule", "answer": "3*x^2+2", **extra}
    with pytest.raises(ValueError, match=f'remove "{field}" from the line'):
        resolve(line)
    # Empty ones say nothing and are let through (exports often carry the field blank).
    empty = {"reference": "", "options": {}}[field]
    assert resolve({**line, field: empty})["reference"] == "3*x^2 + 2"


def test_resolver_refuses_a_key_that_does_not_lint(tmp_path: Path) -> None:
    # `serve` refuses such a key; a batch graded with it would mark learners as its own
    # examples say it must not.
    path = tmp_path / "failing.toml"
    path.write_text(GOOD.replace('accept = ["x*2"]', 'accept = ["x"]'))
    with pytest.raises(KeyProblem) as caught:
        load_resolver(path)
    assert "does not lint" in str(caught.value)
    assert f"FAIL  {path}:13:12: q1/a: accept 'x' graded incorrect" in str(caught.value)
    result = runner.invoke(app, ["grade-batch", "--key", str(path)], input="")
    assert result.exit_code == 2
    assert "does not lint" in result.output


def test_empty_answers_list_says_so() -> None:
    with pytest.raises(KeyProblem) as caught:
        parse_key(GOOD.replace('answer = "2*x"', "answers = []"), "quiz.toml")
    assert "lists no reference" in str(caught.value)
    assert caught.value.line == 12
