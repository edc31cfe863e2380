"""`mathgrader grade-batch`: checking its options, running an engine, its exit status.

Free of Typer, like `single.py`: the Typer app (`commands.py`) and the fast path of the
`mathgrader` command (`fast.py`) run this same code and print the same bytes. Typer, pydantic and
the adapters it builds per parameter cost the batch parent about a third of a second of CPU at
start-up, on a machine whose other core is loading the workers' fork server at that moment.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .single import EXIT_UNUSABLE, UsageProblem, echo

__all__ = ["DEFAULT_MEMORY_LIMIT_MB", "ENGINES", "grade_batch"]

# mathgrader.batch.pool.DEFAULT_MEMORY_LIMIT in MB, spelled out so that --help stays fast.
DEFAULT_MEMORY_LIMIT_MB = 2048
ENGINES = ("local", "dask")
_INTERRUPTED = 128 + signal.SIGINT


def grade_batch(
    input_path: str = "-",
    output: str | None = None,
    key: Path | None = None,
    workers: int = 1,
    timeout: float = 2.0,
    engine: str = "local",
    scheduler: str | None = None,
    memory_limit: int = DEFAULT_MEMORY_LIMIT_MB,
    resume: bool = False,
) -> int:
    """Grade a JSON Lines file, one output line per input line, in input order; the exit
    status: 0, or 2 for an unusable run (its message on stderr), 130 after Ctrl-C.

    A SIGTERM ends the process with status 143 (SystemExit) after saying how to resume.
    """
    try:
        _grade_batch(input_path, output, key, workers, timeout, engine, scheduler,
                     memory_limit, resume)
    except UsageProblem as exc:
        echo(f"error: {exc}", err=True)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        if engine == "dask":
            raise  # as before the engines shared this code: the caller's handling
        _interrupted(output)
        return _INTERRUPTED
    except _ReaderGone:
        return 0
    return 0


def _grade_batch(input_path: str, output: str | None, key: Path | None, workers: int,
                 timeout: float, engine: str, scheduler: str | None, memory_limit: int,
                 resume: bool) -> None:
    if not 1 <= workers <= 256:
        raise UsageProblem(f"--workers must be between 1 and 256, not {workers}")
    if engine not in ENGINES:
        raise UsageProblem(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if not 0 < timeout < float("inf"):  # nan too
        raise UsageProblem("--timeout must be a finite number of seconds > 0")
    if memory_limit < 0:
        raise UsageProblem("--memory-limit must be a number of MB, or 0 for no limit")
    if engine == "dask" and input_path == "-":
        raise UsageProblem("--engine dask reads a file or URL, not stdin: name the INPUT")
    if scheduler is not None and engine != "dask":
        raise UsageProblem("--scheduler needs --engine dask")
    if resume and output is None:
        raise UsageProblem("--resume continues an output file: name it with -o OUTPUT")
    if resume and engine == "dask":
        raise UsageProblem("--resume works with --engine local only")
    resolve = None
    if key is not None:
        from ..keys import KeyProblem, load_resolver

        try:
            resolve = load_resolver(key)
        except KeyProblem as exc:
            raise UsageProblem(str(exc)) from None
    limit = memory_limit * 2**20 or None
    if output is not None and _same_file(input_path, output):
        raise UsageProblem(f"the output {output} is the input file: writing it would erase the"
                           " submissions; name another file with -o")
    if engine == "dask":
        _grade_batch_dask(input_path, output, resolve, scheduler, workers, timeout, limit)
    else:
        _grade_batch_local(input_path, output, resolve, workers, timeout, limit, resume)


def _grade_batch_local(input_path: str, output: str | None, resolve: Any, workers: int,
                       timeout: float, memory_limit: int | None, resume: bool) -> None:
    from ..batch import run_batch
    from . import BATCH_PRELOAD

    # utf-8-sig: a byte-order mark at the start (Windows tools write one) is not part of line 1.
    # surrogateescape: a byte that is not UTF-8 reaches the line's decoding, which answers that
    # line with an error of its own (`pool.decode_line`), the same from a file as from stdin.
    try:
        if input_path == "-":
            source = sys.stdin
            if hasattr(source, "reconfigure"):
                source.reconfigure(encoding="utf-8-sig", errors="surrogateescape")
        else:
            source = open(  # noqa: SIM115 - closed below
                input_path, encoding="utf-8-sig", errors="surrogateescape")
    except OSError as exc:
        raise UsageProblem(f"cannot read {input_path}: {exc.strerror}") from None
    skipped = 0
    try:
        if resume:
            assert output is not None
            skipped = _resume(output, source, input_path)
        try:
            sink = sys.stdout if output is None else open(  # noqa: SIM115 - closed below
                output, "a" if resume else "w", encoding="utf-8")
        except OSError as exc:
            raise UsageProblem(f"cannot write {output}: {exc.strerror}") from None
        try:
            with _batch_run(input_path):
                run_batch(source, sink, workers=workers, timeout=timeout, progress=None,
                          resolve=resolve, preload=list(BATCH_PRELOAD),
                          memory_limit=memory_limit, line_offset=skipped)
        except SystemExit:  # SIGTERM, from _terminate
            _interrupted(output)
            raise
        finally:
            if sink is not sys.stdout:
                sink.close()
    finally:
        if source is not sys.stdin:
            source.close()


def _same_file(input_path: str, output: str) -> bool:
    """Whether OUTPUT names the INPUT file (or stdin's file, when it is redirected from one)."""
    try:
        if input_path == "-":
            return os.path.samestat(os.fstat(sys.stdin.fileno()), os.stat(output))
        return os.path.samefile(input_path, output)
    except (OSError, ValueError):  # no such output yet, or no real stdin
        return False


def _resume(output: str, source: Any, input_path: str) -> int:
    """Check OUTPUT against the input and skip what it answers; return input lines skipped."""
    from ..batch.resume import ResumeError, resume_output

    try:
        done = resume_output(output, source)
    except (ResumeError, OSError, UnicodeDecodeError) as exc:
        if isinstance(exc, ResumeError):
            raise UsageProblem(str(exc)) from None
        raise UsageProblem(f"cannot resume from {output} with {input_path}: {exc}") from None
    if done.answered or done.dropped:
        torn = f", cut off a torn last line ({done.dropped} bytes)" if done.dropped else ""
        echo(f"resuming: {done.answered} lines already in {output}{torn}; grading from "
             f"input line {done.consumed + 1}", err=True)
    return done.consumed


def _interrupted(output: str | None) -> None:
    if output is not None:
        echo(f"interrupted: {output} holds complete lines only; run the same command with "
             "--resume to grade the rest", err=True)


def _grade_batch_dask(input_path: str, output: str | None, resolve: Any, scheduler: str | None,
                      workers: int, timeout: float, memory_limit: int | None) -> None:
    """`grade-batch --engine dask`: the same contract, graded on a Dask cluster."""
    try:
        from ..batch.dask_engine import run_dask
    except ImportError as exc:  # dask or fsspec missing: the optional `cluster` extra
        raise UsageProblem(
            f"--engine dask needs pip install 'mathgrader[cluster]' ({exc})") from None
    with _batch_run(input_path):
        run_dask(input_path, sys.stdout if output is None else output, scheduler=scheduler,
                 workers=workers, timeout=timeout, memory_limit=memory_limit, resolve=resolve,
                 progress=None)


class _ReaderGone(Exception):
    """The reader of standard output went away (piped into head): a quiet exit 0."""


@contextmanager
def _batch_run(input_path: str) -> Iterator[None]:
    """What both engines share: SIGTERM unwinds like Ctrl-C (so the workers are cleaned up),
    an unusable run is a usage problem with its message, and a reader that went away ends the
    run quietly."""
    from ..batch import BatchError, BatchInputError

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    except BatchInputError as exc:
        raise UsageProblem(f"reading {input_path} failed part-way: {exc}") from None
    except BatchError as exc:
        raise UsageProblem(str(exc)) from None
    except BrokenPipeError:
        sys.stderr.close()
        raise _ReaderGone from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)
