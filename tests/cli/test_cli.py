"""The single-shot commands: exit codes, JSON shapes and messages as the contract fixes them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mathgrader.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("reference", "answer", "flags", "code", "verdict"),
    [
        ("3*x^2 + 2", "2 + 3*x*x", [], 0, "correct"),
        ("3*x^2 + 2", "3*x^2", [], 1, "incorrect"),
        ("5*x", "5x", [], 1, "invalid"),
        ("1", "1.05", ["--relative-tolerance", "0.05"], 0, "correct"),
        ("1", "1.1", ["--relative-tolerance", "0.05"], 1, "incorrect"),
        ("1", "1.05", ["--absolute-tolerance", "0.1"], 0, "correct"),
        ("abs(x)", "x", ["--variable", "x=positive"], 0, "correct"),
        ("abs(x)", "x", [], 1, "incorrect"),
        ("sqrt(x^2)", "x", ["--variable", "x=[0, 5]"], 0, "correct"),
        ("2*x", "x+x", ["--answer", "x*2"], 0, "correct"),
        ("x(", "x", [], 2, "error"),
    ],
    ids=lambda value: str(value),
)
def test_check_exit_codes_and_json(
    reference: str, answer: str, flags: list[str], code: int, verdict: str
) -> None:
    result = runner.invoke(app, ["check", reference, answer, "--json", *flags])
    assert result.exit_code == code, result.output
    payload = json.loads(result.stdout)
    assert payload["verdict"] == verdict
    assert set(payload) >= {"verdict", "score", "feedback", "error"}


def test_check_plain_output_shows_the_hint() -> None:
    result = runner.invoke(app, ["check", "5*x", "5x"])
    assert result.exit_code == 1
    assert "invalid" in result.stdout
    assert "write 5*x" in result.stdout


@pytest.mark.parametrize(
    "flags",
    [["--variable", "x"], ["--variable", "x=weird"], ["--relative-tolerance", "-1"],
     ["--form", "pretty"], ["--list", "sorted"], ["--timeout", "0"]],
    ids=lambda value: " ".join(value),
)
def test_check_unusable_options_exit_2(flags: list[str]) -> None:
    result = runner.invoke(app, ["check", "x", "x", *flags])
    assert result.exit_code == 2


def test_preview_json_shape() -> None:
    result = runner.invoke(app, ["preview", "x/2*y", "--json"])
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["ok"] is True
    assert payload["variables"] == ["x", "y"]
    assert {"latex", "mathml", "text", "warnings"} <= set(payload)


def test_preview_reads_a_list_with_list() -> None:
    # A list question's answer (roots 2, -3) could not be previewed from the command line.
    assert runner.invoke(app, ["preview", "2, -3"]).exit_code == 1
    result = runner.invoke(app, ["preview", "2, -3", "--list", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["text"] == "2, -3"


def test_preview_error_json_is_located() -> None:
    result = runner.invoke(app, ["preview", "3x", "--json"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload == {
        "ok": False,
        "error": {
            "code": "implicit_multiplication",
            "message": payload["error"]["message"],
            "column": 2,
            "end_column": 3,
            "hint": "write 3*x",
        },
    }


def test_preview_error_plain_draws_a_caret() -> None:
    result = runner.invoke(app, ["preview", "sin^2(x)"])
    assert result.exit_code == 1
    assert "^^^^" in result.stderr
    assert "write sin(x)^2" in result.stderr


def test_demo_runs() -> None:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0
    assert "correct" in result.stdout


def test_check_help_shows_the_interval_domain() -> None:
    # Rich read "[low,high]" as markup and printed "complex or ." (the bracket is escaped now)
    result = runner.invoke(app, ["check", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "integer, complex or [low,high]." in result.output


@pytest.mark.parametrize(("args", "code", "shown"), [
    (["check", "-x", "-x"], 0, "correct"),
    (["check", "2*x", "-2*x", "--json"], 1, '"verdict": "incorrect"'),
    (["check", "-3, 2", "2, -3", "--list", "unordered"], 0, "correct"),
    (["preview", "-x^2"], 0, "-(x^2)"),
])
def test_answers_may_start_with_a_minus(args: list[str], code: int, shown: str) -> None:
    # they were read as options: "No such option: -x"
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert shown in result.output


def test_an_unknown_option_is_still_refused() -> None:
    result = runner.invoke(app, ["check", "x", "x", "--bogus"])
    assert result.exit_code == 2
