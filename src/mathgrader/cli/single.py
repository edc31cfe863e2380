"""The single-shot commands, `preview` and `check`: what they print and their exit status.

Free of Typer, so that the Typer app (`commands.py`) and the fast path of the `mathgrader` command
(`fast.py`) run the same code and print the same bytes. Each command returns its exit status.
"""

from __future__ import annotations

import codecs
import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..checker.grade import Grade
    from ..checker.options import GradeOptions

__all__ = [
    "EXIT_CORRECT",
    "EXIT_NOT_CORRECT",
    "EXIT_UNUSABLE",
    "UsageProblem",
    "check",
    "echo",
    "parse_variables",
    "preview",
]

EXIT_CORRECT, EXIT_NOT_CORRECT, EXIT_UNUSABLE = 0, 1, 2
_LONGEST_ALARM = 2.0**31 - 1  # seconds; setitimer overflows beyond the platform's time_t


class UsageProblem(Exception):
    """A flag value the command cannot use: printed as `error: ...`, exit status 2."""


def echo(text: str = "", *, err: bool = False) -> None:
    """Print a line as `typer.echo` does, without importing it for the common case.

    Click writes text as-is to a standard stream with a known, non-ASCII encoding, then
    flushes; it treats two cases specially (ANSI escapes, stripped when the stream is not a
    terminal; an ASCII stream, re-encoded as UTF-8), and those go to Click itself.
    """
    stream = sys.stderr if err else sys.stdout
    if stream is None:  # no stream attached (pythonw): Click writes nothing either
        return
    encoding = getattr(stream, "encoding", None)
    if (
        "\x1b" in text
        or not encoding
        or getattr(stream, "errors", None) is None
        or codecs.lookup(encoding).name == "ascii"
    ):
        from typer import echo as click_echo

        click_echo(text, err=err)
        return
    stream.write(text + "\n")
    stream.flush()


def preview(expression: str, as_json: bool = False, allow_list: bool = False) -> int:
    """`mathgrader preview`: how the grader reads EXPRESSION (a comma-separated list with
    `allow_list`); exit 1 when it does not parse."""
    from ..errors import InputError
    from ..language.preview import preview as make_preview

    try:
        shown = make_preview(expression, allow_list=allow_list)
    except InputError as exc:
        if as_json:
            echo(json.dumps({"ok": False, "error": exc.to_dict()}))
        else:
            echo(f"error: {exc.message}", err=True)
            echo(exc.context(), err=True)
            if exc.hint:
                echo(f"hint: {exc.hint}", err=True)
        return EXIT_NOT_CORRECT
    if as_json:
        echo(json.dumps({"ok": True, **shown.to_dict()}))
        return EXIT_CORRECT
    echo(f"text:      {shown.text}")
    echo(f"latex:     {shown.latex}")
    echo(f"variables: {', '.join(shown.variables) or '(none)'}")
    for warning in shown.warnings:
        echo(f"warning:   {warning}")
    return EXIT_CORRECT


def parse_variables(values: list[str]) -> dict[str, Any]:
    """`--variable NAME=DOMAIN` values as the `variables` option; raises `UsageProblem`."""
    domains: dict[str, Any] = {}
    for value in values:
        name, sep, domain = value.partition("=")
        if not sep or not name.strip():
            raise UsageProblem(f"--variable takes NAME=DOMAIN, got {value!r}")
        domain = domain.strip()
        if domain.startswith("["):
            try:
                domains[name.strip()] = json.loads(domain)
            except json.JSONDecodeError:
                raise UsageProblem(f"--variable {name}: {domain!r} is not [low, high]") from None
        else:
            domains[name.strip()] = domain
    return domains


def check(
    reference: str,
    answer: str,
    *,
    as_json: bool = False,
    relative_tolerance: float | None = None,
    absolute_tolerance: float | None = None,
    variable: list[str] | None = None,
    answers: list[str] | None = None,
    form: str | None = None,
    forbid: list[str] | None = None,
    list_mode: str | None = None,
    timeout: float = 2.0,
    seed: int = 0,
) -> int:
    """`mathgrader check`: grade ANSWER against REFERENCE; exit 0 correct, 1 not, 2 unusable."""
    from ..checker.grade import Grade
    from ..checker.options import GradeOptions
    from ..errors import ConfigError

    options: dict[str, Any] = {"timeout": timeout, "seed": seed}
    if relative_tolerance is not None:
        options["relative_tolerance"] = relative_tolerance
    if absolute_tolerance is not None:
        options["absolute_tolerance"] = absolute_tolerance
    if variable:
        try:
            options["variables"] = parse_variables(variable)
        except UsageProblem as exc:
            echo(f"error: {exc}", err=True)
            return EXIT_UNUSABLE
    if answers:
        options["answers"] = [reference, *answers]
    if form is not None:
        options["form"] = form
    if forbid:
        options["forbid"] = forbid
    if list_mode is not None:
        options["list"] = list_mode
    try:
        parsed = GradeOptions.from_mapping(options)
    except ConfigError as exc:  # what grade() answers for unusable options
        result = Grade("error", 0.0, exc.message, exc.to_dict())
    else:
        result = _grade_within_budget(reference, answer, parsed)
    if as_json:
        echo(json.dumps(result.to_dict()))
    else:
        echo(result.verdict)
        if result.feedback:
            echo(f"feedback: {result.feedback}")
        if result.error and result.error.get("hint"):
            echo(f"hint: {result.error['hint']}")
    if result.verdict == "correct":
        return EXIT_CORRECT
    return EXIT_UNUSABLE if result.verdict == "error" else EXIT_NOT_CORRECT


def _grade_within_budget(reference: str, answer: str, options: GradeOptions) -> Grade:
    """Grade, stopped hard when `options.timeout` runs out: the budget starts with grading.

    The checker and the parser are loaded first. A cold process spends a few hundred
    milliseconds on that (NumPy, mpmath, the grammar): counted against `--timeout`, it made
    cheap answers time out, and an alarm landing in an import would leave a half-initialised
    module behind.
    """
    from ..checker import equivalence  # noqa: F401 - loaded before the alarm, not used here
    from ..checker.grade import Grade, grade_with
    from ..language.parser import parse_tree

    parse_tree("0")  # the parser is built on first use
    try:
        with _alarm(options.timeout):
            return grade_with(reference, answer, options)
    except TimeoutError:
        return Grade("timeout", 0.0, "The answer could not be checked within the time budget.",
                     {"code": "timeout", "message": "the check ran out of its time budget"})


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """A hard stop for in-process checks; the batch engine uses worker processes instead."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, min(seconds, _LONGEST_ALARM))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
