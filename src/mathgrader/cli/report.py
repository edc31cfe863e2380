"""`mathgrader report QUIZ`: what learners answered, for instructors writing feedback.

A thin shell: opens the submissions log read-only (it never creates a database or a table),
loads the answer keys for prompts and grading options, builds the report in
`mathgrader.service.report` and prints it as tables or, with `--json`, as one JSON object.
Registered in the `mathgrader` app with `app.command("report")(report_command)`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["report_command"]

EXIT_UNUSABLE = 2
KEYS_ENV = "MATHGRADER_KEYS"
VAR_DIR_ENV = "MATHGRADER_VAR_DIR"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_UNUSABLE)


def report_command(
    quiz: Annotated[str, typer.Argument(metavar="QUIZ", help="The quiz id, e.g. calc1-week2.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", envvar="MATHGRADER_DATABASE_URL", show_envvar=True,
                     help="SQLAlchemy URL of the submissions log (default: var/submissions.db)."),
    ] = None,
    keys: Annotated[
        Path | None,
        typer.Option("--keys", metavar="DIR", envvar=KEYS_ENV, show_envvar=True,
                     help="Answer keys (a folder or one file; default: the bundled examples)."),
    ] = None,
) -> None:
    """Per question of QUIZ: attempts, share correct, and the most common wrong answers.

    Wrong answers are grouped by equivalence: `-2*x` and `-x*2` are one mistake.

    Exit 0; 2 when the database cannot be read, or QUIZ has no submissions and no answer key.
    """
    from rich.console import Console

    from ..keys import AnswerKey, KeyProblem, load_key, load_keys
    from ..service.report import build_report, render_report
    from ..service.settings import bundled_keys
    from ..service.store import StoreError, SubmissionStore

    if keys is not None and not keys.exists():
        raise _fail(f"--keys {keys}: no such file or folder")
    key_path = keys if keys is not None else bundled_keys()
    key: AnswerKey | None = None
    if key_path.exists():
        try:
            loaded = load_keys(key_path) if key_path.is_dir() else {
                (one := load_key(key_path)).quiz: one}
        except KeyProblem as exc:
            raise _fail(str(exc)) from None
        key = loaded.get(quiz)
    if database_url is None:
        # The service's default: submissions.db inside MATHGRADER_VAR_DIR (default var/).
        var = Path(os.environ.get(VAR_DIR_ENV, "var")).resolve()
        database_url = f"sqlite:///{var / 'submissions.db'}"
    try:
        store = SubmissionStore(database_url, read_only=True)
    except StoreError as exc:
        raise _fail(str(exc)) from None
    try:
        if key is None and store.count(quiz) == 0:
            raise _fail(f"no submissions for quiz {quiz!r}, and no answer key in {key_path} "
                        "names it")
        report = build_report(store, quiz, key)
    except StoreError as exc:
        raise _fail(str(exc)) from None
    finally:
        store.close()
    if json_output:
        typer.echo(json.dumps(report.to_dict()))
        return
    Console(highlight=False).print(render_report(report))

