"""The fast path of the `mathgrader` command: `preview`, `check` and `grade-batch` read without
Typer.

Typer costs more than a preview: its import, pydantic's, and a pydantic adapter built for every
parameter on every run (about 0.3 s of a 0.55 s cold start). Learners and scripts call `preview`
and `check` once per expression, so those two commands, given plain arguments, are read here.
`grade-batch` on the local engine is too: there the same 0.3 s of CPU competed with the fork
server loading the workers' modules on a two-core machine (a 50-line batch, median of 15
interleaved runs: 0.76 -> 0.64 s).

The reader is deliberately narrow: it takes only command lines whose meaning cannot differ from
Typer's reading (the command, its arguments, `--` and its flags spelled out in full, with values
in forms that Typer converts to the same number) and returns None for anything else: `--help`,
`--flag=value`, a value or argument that starts with `-`, a missing or extra argument, shell
completion. The Typer app then answers, so messages, help and exit statuses stay Typer's.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from . import single

__all__ = ["run"]

# Values that Typer (through pydantic) and float()/int() read as the same number; other
# spellings pydantic accepts ("1_0", " 1", "+1"), and digit strings long enough to reach
# int()'s limit on digits, are left to Typer.
_FLOAT = re.compile(r"[0-9]{1,30}(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,3})?")
_INT = re.compile(r"[0-9]{1,18}")
_INTERRUPTED = 130  # Typer's exit status after Ctrl-C


def _as_float(value: str) -> float | None:
    return float(value) if _FLOAT.fullmatch(value) else None


def _as_int(value: str) -> int | None:
    return int(value) if _INT.fullmatch(value) else None


def _as_str(value: str) -> str:
    return value


class _Option(NamedTuple):
    name: str  # the keyword of the command function
    convert: Callable[[str], Any]  # returns None for a value that Typer should judge
    repeated: bool = False  # a list option: every occurrence adds a value


class _Command(NamedTuple):
    run: Callable[..., int]
    arguments: tuple[str, ...]
    flags: Mapping[str, str]
    options: Mapping[str, _Option]
    optional: int = 0  # how many of the last arguments may be left out (their defaults apply)


def _as_workers(value: str) -> int | None:
    workers = _as_int(value)
    return workers if workers is not None and 1 <= workers <= 256 else None  # Typer's range


def _as_local(value: str) -> str | None:
    return value if value == "local" else None  # the Dask engine stays Typer's


def _grade_batch(**keywords: Any) -> int:
    from .grade_batch import grade_batch

    return grade_batch(**keywords)


_COMMANDS: Mapping[str, _Command] = {
    "preview": _Command(single.preview, ("expression",),
                        {"--json": "as_json", "--list": "allow_list"}, {}),
    "check": _Command(
        single.check,
        ("reference", "answer"),
        {"--json": "as_json"},
        {
            "--relative-tolerance": _Option("relative_tolerance", _as_float),
            "--absolute-tolerance": _Option("absolute_tolerance", _as_float),
            "--variable": _Option("variable", _as_str, repeated=True),
            "-v": _Option("variable", _as_str, repeated=True),
            "--answer": _Option("answers", _as_str, repeated=True),
            "--form": _Option("form", _as_str),
            "--forbid": _Option("forbid", _as_str, repeated=True),
            "--list": _Option("list_mode", _as_str),
            "--timeout": _Option("timeout", _as_float),
            "--seed": _Option("seed", _as_int),
        },
    ),
    "grade-batch": _Command(
        _grade_batch,
        ("input_path",),
        {"--resume": "resume"},
        {
            "--output": _Option("output", _as_str),
            "-o": _Option("output", _as_str),
            "--key": _Option("key", Path),
            "--workers": _Option("workers", _as_workers),
            "--timeout": _Option("timeout", _as_float),
            "--engine": _Option("engine", _as_local),
            "--memory-limit": _Option("memory_limit", _as_int),
        },
        optional=1,
    ),
}


def run(argv: list[str]) -> int | None:
    """Run `mathgrader ARGV` if the fast path can read it: the exit status, else None."""
    if not argv or argv[0] not in _COMMANDS or _completing():
        return None
    command = _COMMANDS[argv[0]]
    keywords = _read(command, argv[1:])
    if keywords is None:
        return None
    try:
        return command.run(**keywords)
    except KeyboardInterrupt:
        return _INTERRUPTED
    except BrokenPipeError:
        # The reader went away (piped into head): exit 1 as Typer does, and point the standard
        # streams at /dev/null so that flushing them at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):
            os.dup2(devnull, stream.fileno())
        return 1


def _completing() -> bool:
    """Shell completion asks through `_<PROG>_COMPLETE`: Typer answers it."""
    return any(name.startswith("_") and name.endswith("_COMPLETE") for name in os.environ)


def _read(command: _Command, args: list[str]) -> dict[str, Any] | None:
    """The keywords of `command.run` for ARGS, or None when Typer should read them."""
    keywords: dict[str, Any] = {}
    positional: list[str] = []
    rest = iter(args)
    options_ended = False
    for arg in rest:
        if options_ended or not arg.startswith("-"):
            positional.append(arg)
        elif arg == "--":
            options_ended = True
        elif arg in command.flags:
            keywords[command.flags[arg]] = True
        elif arg in command.options:
            option = command.options[arg]
            value = next(rest, None)
            if value is None or value.startswith("-"):
                return None
            converted = option.convert(value)
            if converted is None:
                return None
            if option.repeated:
                keywords.setdefault(option.name, []).append(converted)
            else:
                keywords[option.name] = converted
        else:
            return None
    if not len(command.arguments) - command.optional <= len(positional) <= len(command.arguments):
        return None
    keywords.update(zip(command.arguments, positional, strict=False))
    return keywords
