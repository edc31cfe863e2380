"""`mathgrader report`: counts and shares, mistakes grouped by equivalence, plain-text output."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from mathgrader.checker.equivalence import Checker
from mathgrader.cli.report import report_command
from mathgrader.keys import AnswerKey, parse_key
from mathgrader.service.report import build_report, comparison_options, render_report
from mathgrader.service.store import Submission, SubmissionStore

KEY_TEXT = """
[quiz]
id = "q1"
title = "Quiz one"

[[questions]]
id = "slope"
prompt = "Differentiate -x^2."
answer = "-2*x"
feedback = [ { answer = "2*x", message = "Mind the sign." } ]

[[questions]]
id = "factor"
prompt = "Factor x^2 - 5*x + 6."
answer = "(x - 2)*(x - 3)"
form = "factored"

[[questions]]
id = "roots"
prompt = "Solve x^2 + x - 6 = 0."
answer = "2, -3"
list = "unordered"

[[questions]]
id = "untouched"
prompt = "Nobody answered this."
answer = "1"
"""

KEY: AnswerKey = parse_key(KEY_TEXT)

# (question, answer, verdict, error code)
LOG = [
    ("slope", "-2*x", "correct", None),
    ("slope", "-x*2", "correct", None),
    ("slope", "2*x", "incorrect", None),
    ("slope", "x*2", "incorrect", None),
    ("slope", " 2*x  ", "incorrect", None),
    ("slope", "-x^2", "incorrect", None),
    ("slope", "2x", "invalid", "implicit_multiplication"),
    ("slope", "-2x", "invalid", "implicit_multiplication"),
    ("slope", "2*x +", "invalid", "unexpected_end"),
    ("slope", "zz(", "invalid", None),
    ("factor", "x^2 - 5*x + 6", "incorrect", None),
    ("factor", "6 - 5*x + x^2", "incorrect", None),
    ("factor", "(x+2)*(x+3)", "incorrect", None),
    ("roots", "-2, 3", "incorrect", None),
    ("roots", "3, -2", "incorrect", None),
    ("roots", "2, 3", "incorrect", None),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SubmissionStore]:
    with SubmissionStore(f"sqlite:///{tmp_path}/s.db") as opened:
        yield opened


def fill(store: SubmissionStore, log: Sequence[tuple[str, str, str, str | None]],
         quiz: str = "q1") -> None:
    for question, answer, verdict, code in log:
        store.record(Submission(quiz, question, answer, verdict,
                                1.0 if verdict == "correct" else 0.0, error_code=code))
    assert store.flush()


def mistakes(report: object, question: str) -> list[tuple[str, int, list[str]]]:
    (q,) = [q for q in report.questions if q.id == question]  # type: ignore[attr-defined]
    return [(m.answer, m.count, [v.answer for v in m.variants]) for m in q.mistakes]


def test_counts_and_shares(store: SubmissionStore) -> None:
    fill(store, LOG)
    report = build_report(store, "q1", KEY)
    assert [q.id for q in report.questions] == ["slope", "factor", "roots", "untouched"]
    slope = report.questions[0]
    assert (slope.attempts, slope.correct, slope.wrong) == (10, 2, 4)
    assert slope.share_correct == pytest.approx(0.2)
    assert slope.mean_score == pytest.approx(0.2)
    assert dict(slope.verdicts) == {"correct": 2, "incorrect": 4, "invalid": 4}
    assert slope.prompt == "Differentiate -x^2."
    untouched = report.questions[3]
    assert (untouched.attempts, untouched.share_correct, untouched.mean_score) == (0, None, None)
    assert (report.attempts, report.correct) == (16, 2)
    assert report.complete


def test_equivalent_wrong_answers_are_one_mistake(store: SubmissionStore) -> None:
    fill(store, [("slope", "-2*x", "incorrect", None), ("slope", "-x*2", "incorrect", None),
                 ("slope", "-x*2", "incorrect", None), ("slope", "x", "incorrect", None)])
    report = build_report(store, "q1", None)
    assert mistakes(report, "slope") == [("-x*2", 3, ["-2*x"]), ("x", 1, [])]
    (group, _) = report.questions[0].mistakes
    assert group.spellings == 2
    assert group.share == pytest.approx(0.75)


def test_grouping_uses_the_questions_options_sensibly(store: SubmissionStore) -> None:
    fill(store, LOG)
    report = build_report(store, "q1", KEY)
    # Spacing merges; `x*2` is `2*x` (the key's feedback rule and answers play no part).
    assert mistakes(report, "slope") == [("2*x", 3, ["x*2"]), ("-x^2", 1, [])]
    # form = "factored" is about the right answer: the unfactored spellings are one mistake.
    assert mistakes(report, "factor") == [("6 - 5*x + x^2", 2, ["x^2 - 5*x + 6"]),
                                          ("(x+2)*(x+3)", 1, [])]
    # list = "unordered" is kept: `-2, 3` and `3, -2` are one mistake.
    assert mistakes(report, "roots") == [("-2, 3", 2, ["3, -2"]), ("2, 3", 1, [])]


def test_comparison_options() -> None:
    options = comparison_options(KEY.question("roots"))
    assert options == {"list": "unordered", "timeout": 1.0}
    assert comparison_options(None) == {"list": "ordered", "timeout": 1.0}
    assert "feedback" not in comparison_options(KEY.question("slope"))
    assert "form" not in comparison_options(KEY.question("factor"))


def test_invalid_answers_are_grouped_by_code(store: SubmissionStore) -> None:
    fill(store, LOG)
    (slope, *_) = build_report(store, "q1", KEY).questions
    assert [(i.code, i.count, [e.answer for e in i.examples]) for i in slope.invalid] == [
        ("implicit_multiplication", 2, ["-2x", "2x"]),
        ("unexpected_end", 1, ["2*x +"]),
        ("unknown", 1, ["zz("]),
    ]


def test_without_a_key_questions_come_from_the_log(store: SubmissionStore) -> None:
    fill(store, [("b", "1 + 1, x", "incorrect", None), ("b", "2, x", "incorrect", None),
                 ("a", "y", "correct", None)])
    report = build_report(store, "q1", None)
    assert [(q.id, q.in_key, q.prompt) for q in report.questions] == [("a", False, None),
                                                                       ("b", False, None)]
    assert report.title is None
    # Without a key, a comma-separated answer is compared as an ordered list.
    assert mistakes(report, "b") == [("1 + 1, x", 2, ["2, x"])]


def test_logged_questions_missing_from_the_key_come_last(store: SubmissionStore) -> None:
    fill(store, [("retired", "1", "correct", None), ("slope", "x", "incorrect", None)])
    report = build_report(store, "q1", KEY)
    assert [q.id for q in report.questions][-1] == "retired"
    assert not report.questions[-1].in_key


def test_the_grouping_is_bounded(store: SubmissionStore) -> None:
    log = [("slope", f"{n}*x", "incorrect", None) for n in (3, 3, 3, 4, 4, 5, 6)]
    fill(store, log)
    report = build_report(store, "q1", KEY, max_spellings=2)
    (slope, *_) = report.questions
    assert [m.answer for m in slope.mistakes] == ["3*x", "4*x"]
    assert (slope.wrong, slope.wrong_spellings, slope.ungrouped) == (7, 4, 2)
    assert report.complete
    late = build_report(store, "q1", KEY, budget_seconds=0.0)
    assert not late.complete
    assert late.questions[0].ungrouped == 7


def test_one_checker_serves_the_report(store: SubmissionStore,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    fill(store, LOG)
    made: list[Checker] = []
    original = Checker.__post_init__

    def counting(self: Checker) -> None:
        made.append(self)
        original(self)

    monkeypatch.setattr(Checker, "__post_init__", counting)
    build_report(store, "q1", KEY)
    assert len(made) == 1


def test_to_dict_is_json(store: SubmissionStore) -> None:
    fill(store, LOG)
    data = json.loads(json.dumps(build_report(store, "q1", KEY).to_dict()))
    assert set(data) == {"quiz", "title", "generated_at", "attempts", "correct", "complete",
                         "questions"}
    slope = data["questions"][0]
    assert slope["share_correct"] == 0.2
    assert slope["mistakes"][0] == {"answer": "2*x", "count": 3, "share": 0.75,
                                    "variants": [{"answer": "x*2", "count": 1}],
                                    "spellings": 2, "feedback": None}


@pytest.mark.parametrize("typed", ["[bold]x[/bold]", "<script>alert(1)</script>", "[red]",
                                   "x [link=https://example.com]y[/link]"], ids=str)
def test_learner_text_is_shown_literally(store: SubmissionStore, typed: str) -> None:
    fill(store, [("slope", typed, "incorrect", None), ("slope", typed, "invalid", "odd"),
                 ("slope", "-2*x", "incorrect", None)])
    console = Console(record=True, width=200, color_system=None)
    console.print(render_report(build_report(store, "q1", KEY)))
    text = console.export_text()
    assert text.count(typed) >= 2  # in the mistakes table and as an invalid example


def test_render_without_questions_or_key(store: SubmissionStore) -> None:
    console = Console(record=True, width=120, color_system=None)
    console.print(render_report(build_report(store, "q1", None)))
    assert "No questions" in console.export_text()


# ---------------------------------------------------------------------------------- the command

runner = CliRunner()


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("report")(report_command)
    app.command("other")(lambda: None)  # two commands, so "report" is addressed by name
    return app


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    folder = tmp_path / "keys"
    folder.mkdir()
    (folder / "q1.toml").write_text(KEY_TEXT)
    return folder


def test_report_json(tmp_path: Path, keys: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    with SubmissionStore(url) as store:
        fill(store, LOG)
    result = runner.invoke(cli(), ["report", "q1", "--json", "--database-url", url,
                                   "--keys", str(keys)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["quiz"] == "q1" and data["title"] == "Quiz one"
    assert [q["id"] for q in data["questions"]] == ["slope", "factor", "roots", "untouched"]
    slope = data["questions"][0]
    assert {"id", "prompt", "in_key", "attempts", "correct", "share_correct", "mean_score",
            "verdicts", "wrong", "wrong_spellings", "ungrouped", "mistakes",
            "invalid"} <= set(slope)
    assert (slope["attempts"], slope["correct"], slope["share_correct"]) == (10, 2, 0.2)
    assert slope["invalid"][0]["code"] == "implicit_multiplication"


def test_report_table(tmp_path: Path, keys: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    with SubmissionStore(url) as store:
        fill(store, [*LOG, ("slope", "[bold]oops[/bold]", "incorrect", None)])
    result = runner.invoke(cli(), ["report", "q1", "--database-url", url, "--keys", str(keys)],
                           env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "Quiz one (q1)" in result.stdout
    assert "slope: most common wrong answers" in result.stdout
    assert "[bold]oops[/bold]" in result.stdout


def test_report_reads_the_environment(tmp_path: Path, keys: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    with SubmissionStore(url) as store:
        fill(store, LOG)
    result = runner.invoke(cli(), ["report", "q1", "--json"],
                           env={"MATHGRADER_DATABASE_URL": url, "MATHGRADER_KEYS": str(keys)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["questions"][0]["attempts"] == 10


def test_a_known_quiz_without_submissions_is_a_report(tmp_path: Path, keys: Path) -> None:
    url = f"sqlite:///{tmp_path}/none/s.db"
    result = runner.invoke(cli(), ["report", "q1", "--json", "--database-url", url,
                                   "--keys", str(keys)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["attempts"] == 0
    assert not (tmp_path / "none").exists()  # reading never creates the database


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "no submissions for quiz 'nope'"),
        (["q1", "--database-url", "nosuchdialect://x"], "cannot use"),
        (["q1", "--database-url", "sqlite:///{tmp}"], "cannot read the submissions database"),
        (["q1", "--keys", "{tmp}/missing"], "no such file or folder"),
    ],
    ids=["unknown quiz", "bad url", "unreadable database", "missing keys"],
)
def test_unusable_invocations_exit_2(tmp_path: Path, keys: Path, args: list[str],
                                     message: str) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    with SubmissionStore(url) as store:
        fill(store, LOG)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--database-url" not in args:
        args += ["--database-url", url]
    if "--keys" not in args:
        args += ["--keys", str(keys)]
    result = runner.invoke(cli(), ["report", *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
