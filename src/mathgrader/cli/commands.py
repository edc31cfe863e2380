"""The `mathgrader` command: previews, single checks and batch grading for instructors.

A thin shell over the core: every command parses its flags into the same frozen `GradeOptions`
the API uses, calls the core, and prints. Heavy modules are imported inside the commands, and
`preview` and `check` run the code of `single.py`, which `mathgrader` reaches without this module
(and Typer) when their arguments are plain: see `fast.py`.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from . import single
from .grade_batch import DEFAULT_MEMORY_LIMIT_MB
from .single import EXIT_NOT_CORRECT, EXIT_UNUSABLE, UsageProblem, echo

app = typer.Typer(
    name="mathgrader",
    help="Grade math answers typed by learners: preview, check and batch-grade.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

class Engine(StrEnum):
    """Where `grade-batch` grades."""

    local = "local"
    dask = "dask"


def _fail(message: str) -> typer.Exit:
    echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_UNUSABLE)


# An answer that starts with a minus (-x, -3, 2) is an argument, not an unknown option: "No such
# option: -x" sent people to look for `--`.
_ANSWERS_MAY_START_WITH_MINUS = {"ignore_unknown_options": True}


@app.command(context_settings=_ANSWERS_MAY_START_WITH_MINUS)
def preview(
    expression: Annotated[str, typer.Argument(help="The expression, in the learner syntax.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    allow_list: Annotated[bool, typer.Option(
        "--list", help="Read a comma-separated list (2, -3), as a list question does.")] = False,
) -> None:
    """Show how the grader reads EXPRESSION: LaTeX, MathML, plain text, variables, warnings."""
    raise typer.Exit(single.preview(expression, as_json, allow_list))


@app.command(context_settings=_ANSWERS_MAY_START_WITH_MINUS)
def check(
    reference: Annotated[str, typer.Argument(help="The expected answer.")],
    answer: Annotated[str, typer.Argument(help="The learner's answer.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    relative_tolerance: Annotated[
        float | None, typer.Option(help="Pass when |a - r| <= tol * |r|.")
    ] = None,
    absolute_tolerance: Annotated[
        float | None, typer.Option(help="Pass when |a - r| <= tol.")
    ] = None,
    variable: Annotated[
        list[str] | None,
        typer.Option("--variable", "-v",
                     # \[ : Rich would read [low,high] as markup and print nothing
                     help="NAME=DOMAIN: real, positive, integer, complex or \\[low,high]."),
    ] = None,
    answers: Annotated[
        list[str] | None, typer.Option("--answer", help="Another acceptable reference.")
    ] = None,
    form: Annotated[str | None, typer.Option(help="Required form of the answer.")] = None,
    forbid: Annotated[
        list[str] | None, typer.Option("--forbid", help="A function the learner may not use.")
    ] = None,
    list_mode: Annotated[
        str | None, typer.Option("--list", help="ordered or unordered comma-separated answers.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Time budget in seconds.")] = 2.0,
    seed: Annotated[int, typer.Option(help="Seed of the sample points.")] = 0,
) -> None:
    """Grade ANSWER against REFERENCE. Exit 0 correct, 1 not correct, 2 unusable."""
    raise typer.Exit(single.check(
        reference, answer, as_json=as_json, relative_tolerance=relative_tolerance,
        absolute_tolerance=absolute_tolerance, variable=variable, answers=answers, form=form,
        forbid=forbid, list_mode=list_mode, timeout=timeout, seed=seed,
    ))


@app.command("grade-batch")
def grade_batch(
    input_path: Annotated[
        str, typer.Argument(metavar="[INPUT|-]", help="JSON Lines file, or - for stdin.")
    ] = "-",
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Output file (default: stdout).")
    ] = None,
    key: Annotated[
        Path | None, typer.Option("--key", help="Answer key: lines name a question id.")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, max=256, help="Worker processes.")] = 1,
    timeout: Annotated[float, typer.Option(help="Time budget per line, seconds.")] = 2.0,
    engine: Annotated[
        Engine, typer.Option(help="local: worker processes here; dask: a Dask cluster.")
    ] = Engine.local,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address, e.g. tcp://HOST:8786 (default: a local "
                          "cluster of --workers processes)."),
    ] = None,
    memory_limit: Annotated[
        int, typer.Option("--memory-limit", metavar="MB",
                          help="Address space per worker process, in MB (0: no limit).")
    ] = DEFAULT_MEMORY_LIMIT_MB,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted run: keep the complete "
                                            "lines of OUTPUT and grade only what follows.")
    ] = False,
) -> None:
    """Grade a JSON Lines file: one output line per input line, in input order.

    With --engine dask, INPUT and --output may be fsspec URLs (s3://..., gs://...).
    """
    from .grade_batch import grade_batch as run

    status = run(input_path, output, key, workers, timeout, engine.value, scheduler,
                 memory_limit, resume)
    if status:
        raise typer.Exit(status)


key_app = typer.Typer(help="Answer keys: lint, create, extend and show quiz keys.",
                      no_args_is_help=True)
app.add_typer(key_app, name="key")


@key_app.command("lint")
def key_lint(
    files: Annotated[list[Path], typer.Argument(help="Answer-key TOML files.")],
) -> None:
    """Check keys: every accept example must grade correct, every reject example must not.

    Exit 0 when all hold, 1 when an example fails, 2 when a file is unusable.
    """
    from ..keys import KeyProblem, load_key
    from ..keys.lint import lint_key

    unusable = failed = False
    for path in files:
        try:
            key = load_key(path)
        except KeyProblem as exc:
            echo(f"error {exc}")
            unusable = True
            continue
        for report in lint_key(key):
            for line in report.lines():
                echo(line)
            failed |= not report.ok
    if unusable:
        raise typer.Exit(EXIT_UNUSABLE)
    if failed:
        raise typer.Exit(EXIT_NOT_CORRECT)


@key_app.command("new")
def key_new(
    file: Annotated[Path, typer.Argument(help="The key file to create.")],
    quiz: Annotated[str, typer.Option("--quiz", help="Quiz id, e.g. calc1-week2.")],
    title: Annotated[str, typer.Option("--title", help="Quiz title.")],
) -> None:
    """Create an answer key with its \\[quiz] table."""
    from ..keys import KeyProblem
    from ..keys.edit import new_key

    try:
        new_key(file, quiz, title)
    except KeyProblem as exc:
        raise _fail(str(exc)) from None
    echo(f"created {file}")


@key_app.command("add")
def key_add(
    file: Annotated[Path, typer.Argument(help="The key file to extend.")],
    question_id: Annotated[str, typer.Option("--id", help="Question id, unique in the quiz.")],
    answer: Annotated[str, typer.Option("--answer", help="The reference answer.")],
    prompt: Annotated[str | None, typer.Option(help="The question shown to learners.")] = None,
    variable: Annotated[
        list[str] | None, typer.Option("--variable", help="NAME=DOMAIN, repeatable.")
    ] = None,
    accept: Annotated[
        list[str] | None, typer.Option("--accept", help="An answer that must grade correct.")
    ] = None,
    reject: Annotated[
        list[str] | None, typer.Option("--reject", help="An answer that must not.")
    ] = None,
) -> None:
    """Add a question; the file's comments and layout are kept."""
    from ..keys import KeyProblem
    from ..keys.edit import add_question

    question: dict[str, Any] = {"id": question_id}
    if prompt is not None:
        question["prompt"] = prompt
    question["answer"] = answer
    if variable:
        try:
            question["variables"] = single.parse_variables(variable)
        except UsageProblem as exc:
            raise _fail(str(exc)) from None
    question["accept"] = list(accept or [])
    question["reject"] = list(reject or [])
    try:
        add_question(file, question)
    except KeyProblem as exc:
        raise _fail(str(exc)) from None
    echo(f"added {question_id} to {file}")


@key_app.command("show")
def key_show(file: Annotated[Path, typer.Argument(help="An answer-key TOML file.")]) -> None:
    """Show each question with the preview of its reference answer."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from ..errors import InputError
    from ..keys import KeyProblem, load_key
    from ..language.preview import preview as make_preview

    try:
        key = load_key(file)
    except KeyProblem as exc:
        raise _fail(str(exc)) from None
    # Text, not str: Rich would read "[on an interval]" in a prompt as markup and drop it.
    table = Table(title=Text(f"{key.title} ({key.quiz})"), show_lines=True)
    for column in ("question", "prompt", "answer", "grader reads", "options"):
        table.add_column(column, overflow="fold")
    for question in key.questions:
        shown = []
        for reference in question.references:
            try:
                shown.append(make_preview(reference, allow_list=True).text)
            except InputError as exc:  # pragma: no cover - keys are validated on load
                shown.append(f"error: {exc.message}")
        options = {k: v for k, v in question.options.items() if k != "answers"}
        cells = (question.id, question.prompt, "\n".join(question.references), "\n".join(shown),
                 ", ".join(f"{k}={v}" for k, v in options.items()) or "-")
        table.add_row(*(Text(cell) for cell in cells))
    Console(highlight=False).print(table)


def _register_report() -> None:
    from .report import report_command

    app.command("report")(report_command)


_register_report()


@app.command()
def serve(
    keys: Annotated[
        Path | None, typer.Option(help="Folder of answer keys (default: MATHGRADER_KEYS or the "
                                       "bundled examples).")
    ] = None,
    # None: MATHGRADER_HOST, _PORT, _WORKERS, _TIMEOUT or the defaults (127.0.0.1, 8000, 2, 2.0).
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="Grading processes.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Time budget of one check, s.")] = None,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log",
                           help="Log every request (graded submissions are recorded anyway).")
    ] = False,
    http_workers: Annotated[
        int, typer.Option("--http-workers", min=1, max=32,
                          help="HTTP processes sharing the port, each with a grading pool "
                               "of --workers / --http-workers processes (at least 1).")
    ] = 1,
) -> None:
    """Serve the API, the quiz pages and the help center."""
    import os

    import uvicorn

    from ..errors import MathgraderError
    from ..service.app import create_app
    from ..service.server import exit_zero_on_sigterm, uvicorn_options
    from ..service.settings import Settings

    given = {"host": host, "port": port, "workers": workers, "timeout": timeout, "keys": keys}
    overrides: dict[str, Any] = {name: value for name, value in given.items()
                                 if value is not None}
    try:
        settings = Settings(**overrides)
        application = create_app(settings)
    except (MathgraderError, ValueError) as exc:
        raise _fail(str(exc)) from None
    host, port, workers = settings.host, settings.port, settings.workers
    overrides.update(host=host, port=port, workers=workers, timeout=settings.timeout)
    echo(f"mathgrader: serving http://{host}:{port}/ (quizzes: "
          f"{', '.join(sorted(application.state.quiz_ids))})", err=True)
    if http_workers == 1:
        with exit_zero_on_sigterm():
            uvicorn.run(application, host=host, port=port, log_level="info",
                        access_log=access_log, **uvicorn_options(settings))
        return
    # One event loop saturates a core well before the grading processes do (the framework's
    # cost per request): more HTTP processes use more cores. Each builds its own app from the
    # settings checked above, passed on as MATHGRADER_* variables.
    overrides["workers"] = max(1, workers // http_workers)
    if keys is not None:
        overrides["keys"] = keys.resolve()
    os.environ.update({f"MATHGRADER_{name.upper()}": str(value)
                       for name, value in overrides.items()})
    uvicorn.run("mathgrader.service.app:create_app", factory=True, workers=http_workers,
                host=host, port=port, log_level="info", access_log=access_log,
                **uvicorn_options(settings))


@app.command()
def demo() -> None:
    """Preview and grade a few answers (what `make run` shows until the service exists)."""
    from ..checker.grade import grade
    from ..errors import InputError
    from ..language.preview import preview as make_preview

    examples = [("3*x^2 + 2", "2 + 3*x*x"), ("3*x^2 + 2", "3x^2 + 2"), ("sin(x)^2", "sin^2(x)"),
                ("log(100)", "2"), ("x - 1", "(x^2-2*x+1)/(x-1)"), ("2/3", "0.67")]
    for reference, answer in examples:
        try:
            shown = make_preview(answer).text
        except InputError as exc:
            shown = f"(not understood: {exc.message})"
        result = grade(reference, answer)
        echo(f"{answer!r:28} reads as {shown:28} vs {reference!r:14} -> {result.verdict}"
              + (f" ({result.feedback})" if result.feedback else ""))


def main() -> None:
    """Every command through Typer, without the fast path of `mathgrader.cli.main`."""
    app()
