"""Worker processes that grade batch lines under a hard time budget.

The pool owns everything that touches processes: starting workers (forkserver, with the grading
modules preloaded), sending them small chunks of lines, reading back one result per line, killing a
worker whose current line overran its deadline, and re-running the lines a dead worker left behind.
It knows nothing of files or output order: the runner submits `Task`s and gets finished lines back
in completion order from `WorkerPool.step`.

It also owns what a result line looks like (`result_line`, `error_line`, `decode_line`), because
workers encode their own output: the parent then only forwards finished strings, which keeps it
from becoming the bottleneck when there are many workers.

Why processes and not `signal.alarm`: SIGALRM only works on the main thread and never interrupts C
code that does not check for signals. Workers do use an interval timer as a cheap soft limit for
pure-Python hangs; the parent's SIGKILL is the hard backstop.

Memory is bounded per worker too: each one caps its own address space (RLIMIT_AS) when it
starts, so a check that allocates too much fails with `MemoryError` in that worker (its line is
answered `error`) instead of pushing the machine into swap or the OOM killer. A worker that
cannot get its memory back retires and is replaced; its other lines are re-run elsewhere.

POSIX only (Linux, macOS): the parent reads results from non-blocking pipe file descriptors.
"""

from __future__ import annotations

import gc
import importlib
import json
import math
import mmap
import multiprocessing
import os
import pickle
import re
import selectors
import signal
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from types import FrameType, TracebackType
from typing import Any

from ..checker.grade import VERDICTS, Grade
from ..errors import MathgraderError

__all__ = [
    "BLOCK_LINES",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_GRADE_FN",
    "DEFAULT_MEMORY_LIMIT",
    "DEFAULT_TIMEOUT",
    "BatchError",
    "Finished",
    "LinePayload",
    "PoolStats",
    "Task",
    "WorkerPool",
    "decode_line",
    "error_line",
    "grade_payload",
    "load_grade_fn",
    "preload_modules",
    "raw_blocks",
    "result_line",
    "settle_preloaded",
    "soft_timer",
    "split_text",
    "start_fork_server",
    "text_lines",
    "text_tasks",
]

DEFAULT_GRADE_FN = "mathgrader.checker.grade:grade_item"
DEFAULT_TIMEOUT = 2.0
# Lines per chunk until a line has been timed, and always for costly lines; chunks of cheap
# lines grow from there (see CHUNK_SECONDS) unless a caller fixes `chunk_size`.
DEFAULT_CHUNK_SIZE = 32
# Address space per worker. A warm worker maps ~260 MB (numpy and its OpenBLAS, SymPy once a line
# needs it, 64 MB malloc arenas for its threads) of which 40-70 MB is resident, and the heaviest
# checks we know add tens of MB; the limit counts reserved mappings too, so it leaves a wide
# margin.
DEFAULT_MEMORY_LIMIT = 2048 * 1024 * 1024
# Chunks of cheap lines grow until they hold about this much grading: a worker then has work
# queued for longer than the parent takes to come back to it, even on a busy machine, and the
# parent's work per chunk (a pickle, a write, a wake-up) is spread over many lines. Chunks of
# costly lines keep MIN_CHUNK_LINES, so that the workers stay balanced and one chunk does not
# hold back the ordered output for long. Each chunk and each block costs the parent a few
# hundred microseconds on a busy two-core machine (a pass of its loop, a pickle, a read and a
# write): a repeated answer costs a worker about 15-20 us, so 50 ms of grading spreads that over
# a thousand lines, where 10 ms had the parent take half as much CPU again.
CHUNK_SECONDS = 0.05
MIN_CHUNK_LINES, MAX_CHUNK_LINES = DEFAULT_CHUNK_SIZE, 1024
# Bytes we allow to sit unread in a busy worker's task pipe, so that a send within this budget
# never blocks (a blocked send to a worker stuck in C code would stop the parent from enforcing
# anyone's deadline): on Linux half the capacity of the task pipe, which is enlarged to PIPE_SIZE
# so that large chunks of cheap lines can be queued too; elsewhere 16 KiB, the least a pipe holds
# on Linux and macOS. A chunk is cut short at half the budget, so a long line does not drag many
# others along; chunks that do not fit wait for an idle worker, which is blocked in recv() and
# drains the pipe.
MIN_PIPE_BUDGET = 16 * 1024
PIPE_SIZE = 1024 * 1024  # Linux's default limit for a process without privileges
# Consecutive raw lines sent, graded and answered as one task (see `Task`), where no pool says
# better (Dask's partitions; the local engine sizes its blocks as chunks, `block_lines`). Large
# enough that the parent's work per task is small beside its lines' (64 lines took the parent a
# third less CPU than 16 on the realistic batch), small enough that a block of first-time checks
# (about 0.4 ms each) does not hold back the output for long.
BLOCK_LINES = 64


def raw_blocks(lines: list[str], size: int = BLOCK_LINES) -> list[tuple[int, list[str]]]:
    """The blocks of stripped input `lines`: `(index of its first line, its lines)` for each
    run of non-blank lines, cut every `size` lines (a block's lines are consecutive).

    Work per line is done in C (one search for a blank line; slicing) except in the rare
    batches that have blank lines.

    >>> raw_blocks(["a", "b", "", "c"])
    [(0, ['a', 'b']), (3, ['c'])]
    """
    runs: list[tuple[int, int]] = []  # [start, end) of the runs of non-blank lines
    if "" in lines:
        start = 0
        for i, text in enumerate(lines):
            if not text:
                if i > start:
                    runs.append((start, i))
                start = i + 1
        if start < len(lines):
            runs.append((start, len(lines)))
    elif lines:
        runs.append((0, len(lines)))
    return [(first, lines[first : min(first + size, end)])
            for start, end in runs for first in range(start, end, size)]


# A worker that has not said "ready" by then is considered broken (import hang, etc.).
START_TIMEOUT = 60.0
# The same for a grading function's `prepare` (see `_preparer`), which is outside the budget.
PREPARE_TIMEOUT = 60.0
# How long a worker may hold finished results to send them together (see `_serve`): a frame per
# line costs a pickle, a write and a wake-up of the parent each, more than a repeated answer's
# whole check. Short enough that the output keeps streaming.
RESULT_DELAY = 0.005


class BatchError(MathgraderError):
    """The batch cannot run: a bad grading function, bad settings, or workers that cannot start."""


# ---------------------------------------------------------------------------------------------
# Result lines
# ---------------------------------------------------------------------------------------------

_RESERVED = frozenset({"id", "verdict", "score", "feedback", "error", "seconds"})
# NaN and Infinity are not JSON: refuse them rather than write lines other tools reject. A shared
# encoder, because json.dumps() with any non-default argument builds a new one on every call.
_ENCODER = json.JSONEncoder(allow_nan=False)
_quote = json.encoder.encode_basestring_ascii  # what the encoder escapes strings with


def _json_scalar(value: str | int | None) -> str:
    if value is None:
        return "null"
    return _quote(value) if type(value) is str else repr(value)


def result_line(
    ident: Any,
    verdict: str,
    score: float,
    feedback: str | None,
    error: Mapping[str, Any] | None,
    seconds: float,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """One output line (without the newline), fields in the contract's order.

    ASCII-only escapes keep the line writable whatever the output encoding, even when an id
    holds a lone surrogate from a `\\ud800` escape in the input.

    >>> result_line("q1", "correct", 1.0, None, None, 0.0012345678)
    '{"id": "q1", "verdict": "correct", "score": 1.0, "feedback": null, "error": null, "seconds": 0.001235}'
    """  # noqa: E501
    if (
        (ident is None or type(ident) is str or type(ident) is int)
        and type(verdict) is str
        and type(score) is float and math.isfinite(score)
        and (feedback is None or type(feedback) is str)
        and (not extra or _RESERVED.issuperset(extra))
        and math.isfinite(seconds)
    ):
        # Every line goes through here, so the common case is written out: the same text as
        # the encoder's (its own string escaping, float and int reprs, and separators).
        return (
            f'{{"id": {_json_scalar(ident)}, "verdict": {_quote(verdict)}, "score": {score!r}, '
            f'"feedback": {_json_scalar(feedback)}, '
            f'"error": {"null" if error is None else _ENCODER.encode(error)}, '
            f'"seconds": {round(seconds, 6)!r}}}'
        )
    record: dict[str, Any] = {
        "id": ident,
        "verdict": verdict,
        "score": score,
        "feedback": feedback,
        "error": error,
    }
    if extra:
        record.update((k, v) for k, v in extra.items() if k not in _RESERVED)
    record["seconds"] = round(seconds, 6)
    return _ENCODER.encode(record)


def error_line(
    ident: Any, code: str, message: str, seconds: float, *, verdict: str = "error"
) -> str:
    """A result line for a line the runner itself answers (bad JSON, timeout, crashed worker)."""
    return result_line(ident, verdict, 0.0, message, {"code": code, "message": message}, seconds)


def timeout_message(budget: float) -> str:
    return f"the check took longer than its time budget of {budget:g} s"


def _mb(nbytes: int) -> str:
    return f"{nbytes / 2**20:.0f} MB"


def memory_message(limit: int | None) -> str:
    """The message of a line whose check raised `MemoryError`.

    >>> memory_message(512 * 2**20)
    'the check ran out of memory (limit 512 MB)'
    """
    if limit is None:
        return "the check ran out of memory"
    return f"the check ran out of memory (limit {_mb(limit)})"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        # 1e999 reads as inf, which no JSON output can hold: echoed as an id, it stopped the
        # whole run when its result line was written.
        raise ValueError(f"{text} is beyond the range of numbers")
    return value


# Input is read with errors="surrogateescape": each byte that is not UTF-8 arrives as one of
# these code points, which no UTF-8 text holds, and makes its line an error of the file's (not
# a learner's "invisible character" in an answer).
_UNDECODED = re.compile("[\udc80-\udcff]")

# Python's json accepts NaN, Infinity and 1e999; strict JSON (and our output) does not.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
_SCAN = _DECODER.scan_once  # type: ignore[attr-defined]  # set by JSONDecoder.__init__

_JSON_KINDS = {
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}


def decode_line(text: str, lineno: int) -> tuple[Any, Any, str | None]:
    """Decode one input line into `(id, item, problem)`.

    `problem` is None for a JSON object, else a message for the learner-facing error; `id` is
    the object's "id" (None when missing or unreadable).

    >>> decode_line('{"id": 7, "answer": "x"}', 1)
    (7, {'id': 7, 'answer': 'x'}, None)
    >>> decode_line('[1, 2]', 3)
    (None, None, 'line 3: each line must be a JSON object, not an array')
    """
    if not text.isascii():
        undecoded = _UNDECODED.search(text)
        if undecoded is not None:
            byte = ord(undecoded.group()) - 0xDC00
            return None, None, (f"line {lineno}: not valid UTF-8 (the byte 0x{byte:02X} at"
                                f" column {undecoded.start() + 1}): save the file as UTF-8")
    try:
        # The decoder's C scanner directly (a stripped line has no white space around it); the
        # full decoder on anything else, for its messages.
        item, end = _SCAN(text, 0)
        if end != len(text):
            raise ValueError
    except (StopIteration, ValueError, RecursionError):
        item = None
    try:
        if item is None:
            item = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        # Some of json's messages end on the word for the position ("Invalid control character
        # at", "Unterminated string starting at"); the others do not ("Expecting value").
        where = "column" if exc.msg.endswith(" at") else "at column"
        return None, None, f"line {lineno}: not valid JSON ({exc.msg} {where} {exc.colno})"
    except (ValueError, RecursionError) as exc:  # e.g. nesting deeper than the recursion limit
        return None, None, f"line {lineno}: not valid JSON ({exc})"
    if not isinstance(item, dict):
        kind = _JSON_KINDS.get(type(item), "not an object")
        return None, None, f"line {lineno}: each line must be a JSON object, not {kind}"
    return item.get("id"), item, None


def ident_of(text: str) -> Any:
    """The "id" of a raw line, or None; for the rare lines the parent must answer itself."""
    try:
        item = _DECODER.decode(text)
    except (ValueError, RecursionError):
        return None
    return item.get("id") if isinstance(item, dict) else None


# ---------------------------------------------------------------------------------------------
# Grading one line (runs in a worker)
# ---------------------------------------------------------------------------------------------


def load_grade_fn(spec: str) -> Callable[[Any], Any]:
    """Import a grading function named `"package.module:function"` (or `module:Class.method`)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise BatchError(f"the grading function must be named 'module:function', not {spec!r}")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise BatchError(f"cannot import the grading module {module_name!r}: {exc}") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise BatchError(f"{module_name!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise BatchError(f"{spec!r} is not callable")
    return obj


_HAS_ITIMER = hasattr(signal, "setitimer")


class _SoftTimeout(BaseException):
    """Raised by the worker's interval timer; a BaseException so `except Exception` in grading
    code cannot swallow it."""


class _BadResult(Exception):
    pass


_soft_enabled = False  # our SIGALRM handler is installed (see soft_timer)
_soft_armed = False  # a check is running under the timer
_soft_deadline = 0.0  # when the running check's budget ends (time.monotonic)
_timer_due = 0.0  # when the interval timer fires (time.monotonic); 0.0 when it is not armed


def _arm(seconds: float) -> None:
    global _timer_due
    _timer_due = time.monotonic() + seconds
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    global _timer_due
    _timer_due = 0.0
    # The flag closes the race where the timer fires just after the check returned.
    if _soft_armed:
        left = _soft_deadline - time.monotonic()
        if left <= 0:
            raise _SoftTimeout
        _arm(left)  # armed for an earlier check: this one still has time


@contextmanager
def soft_timer() -> Iterator[bool]:
    """Let `grade_payload` interrupt pure-Python overruns with SIGALRM while inside the block.

    Workers run inside it for their whole life; in-process callers may use it on the main
    thread. Yields whether the soft limit is active (not on Windows or off the main thread).
    """
    global _soft_enabled
    if not _HAS_ITIMER or threading.current_thread() is not threading.main_thread():
        yield False
        return
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    _soft_enabled = True
    try:
        yield True
    finally:
        _soft_enabled = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        global _timer_due
        _timer_due = 0.0
        signal.signal(signal.SIGALRM, previous)


def _preparer(fn: Callable[[Any], Any]) -> Callable[[Any], object] | None:
    """The grading function's `prepare` attribute, if it has one: a worker calls it with each
    item before the item's time budget starts, to load what that check will need (mathgrader's
    `grade_item` imports SymPy there for the lines that use it) without counting it."""
    prepare = getattr(fn, "prepare", None)
    return prepare if callable(prepare) else None


def _sharer(fn: Callable[[Any], Any]) -> Callable[[Any], object] | None:
    """The grading function's `share` attribute, if it has one: a worker of a pool of several
    calls it once with its view of a store the workers share (`mathgrader.batch.peers`), so that
    a result one worker found is not worked out again by another (mathgrader's `grade_item`
    shares its checker's first-time checks there)."""
    share = getattr(fn, "share", None)
    return share if callable(share) else None


def _call_with_soft_limit(fn: Callable[[Any], Any], item: Any, seconds: float) -> Any:
    """`fn(item)`, interrupted by `_SoftTimeout` once it has run `seconds`.

    The interval timer is armed only when none is due by the end of this check: a timer armed
    for an earlier check fires, finds this one within its budget and re-arms itself for the
    rest (`_on_alarm`). A repeated answer, whose whole check is a cache lookup, then makes no
    system call: one per line was 7% of a worker's time on a batch of repeated answers.
    """
    global _soft_armed, _soft_deadline
    if not _soft_enabled:  # without our handler SIGALRM would kill the process
        return fn(item)
    deadline = time.monotonic() + seconds
    _soft_deadline = deadline
    if not _timer_due or _timer_due > deadline:
        _arm(seconds)
    _soft_armed = True
    try:
        return fn(item)
    finally:
        # When the timer fires outside a check, _on_alarm only notes that it is not armed.
        _soft_armed = False


# What `result_line` writes between a line's id and its seconds, for the `Grade`s a worker has
# answered with lately, by identity: a repeated answer comes back as the very `Grade` its first
# check made (the checker caches it), so its output line is the id, this text and the seconds.
# Writing the line anew took a quarter of such a line's time in the worker. An entry holds its
# `Grade`, so the identity is not reused while it is here; a `Grade` is frozen, and its `error`
# is never changed once made (the checker's cache shares it between lines too).
_MIDDLES: dict[int, tuple[Grade, str]] = {}
_MIDDLES_SIZE = 4096


def _middle(result: Grade) -> str | None:
    """The fields of `result`'s line from "verdict" to "error" as `result_line` writes them, or
    None when it is not a plain grade (`result_line` and `_check_result` then decide)."""
    entry = _MIDDLES.get(id(result))
    if entry is not None and entry[0] is result:
        return entry[1]
    verdict, score, feedback, error = result.verdict, result.score, result.feedback, result.error
    if not (verdict in VERDICTS and type(score) is float and 0.0 <= score <= 1.0
            and (feedback is None or type(feedback) is str)
            and (error is None or type(error) is dict)):
        return None
    try:
        encoded = "null" if error is None else _ENCODER.encode(error)
    except (TypeError, ValueError):
        return None
    middle = (f'"verdict": {_quote(verdict)}, "score": {score!r}, '
              f'"feedback": {_json_scalar(feedback)}, "error": {encoded}')
    if len(_MIDDLES) >= _MIDDLES_SIZE:
        _MIDDLES.clear()
    _MIDDLES[id(result)] = (result, middle)
    return middle


def _check_result(result: Any) -> dict[str, Any]:
    data = result.to_dict() if hasattr(result, "to_dict") else result
    if not isinstance(data, Mapping):
        raise _BadResult(f"it returned {type(result).__name__}, not a grade")
    verdict, score = data.get("verdict"), data.get("score", 0.0)
    if verdict not in VERDICTS:
        raise _BadResult(f"unknown verdict {verdict!r}")
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
        raise _BadResult(f"score {score!r} is not a number from 0 to 1")
    feedback, error = data.get("feedback"), data.get("error")
    if feedback is not None and not isinstance(feedback, str):
        raise _BadResult("feedback is not a string")
    if error is not None and not isinstance(error, Mapping):
        raise _BadResult("error is not an object")
    return dict(data)


LinePayload = tuple[int, str | None, Any, Any]
"""What a worker grades per line: (line number, raw text or None, id, decoded item).

With raw text the worker decodes it (cheaper for the parent); without, the parent has already
decoded and resolved the item."""
Payload = tuple[int, str | list[str] | None, Any, Any]
"""What a worker receives per task: a `LinePayload`, or for a block (first line number, the
lines' raw texts, None, None)."""
TextPayload = tuple[int, str]
"""What a worker receives for a text block: (first line number, the lines as read)."""


def grade_payload(
    fn: Callable[[Any], Any],
    payload: LinePayload,
    budget: float,
    *,
    memory_limit: int | None = None,
) -> tuple[str, str]:
    """Grade one line and return `(verdict, output line)`; never raises an `Exception`.

    Also usable in-process, without a pool; the soft limit then needs `soft_timer()`.
    `memory_limit` (bytes) only goes into the message of a line that runs out of memory.
    """
    verdict, line, _ = _grade(fn, payload, budget, memory_limit)
    return verdict, line


def _grade(
    fn: Callable[[Any], Any], payload: LinePayload, budget: float, memory_limit: int | None,
    prepare: Callable[[Any], object] | None = None,
    progress: Any = None,
) -> tuple[str, str, bool]:
    """`grade_payload`, also saying whether the check ran out of memory.

    `prepare(item)`, when given, runs first and outside the budget (see `_preparer`); the
    parent learns when the budget started through `progress` (see `_serve`)."""
    lineno, raw, ident, item = payload
    start = time.perf_counter()
    try:
        if raw is not None:
            ident, item, problem = decode_line(raw, lineno)
            if problem is not None:
                line = error_line(ident, "bad_json", problem, time.perf_counter() - start)
                return "error", line, False
        if prepare is not None:
            before = time.perf_counter()
            if progress is not None:  # the parent's deadline for a line is well beyond this
                progress[1] = time.monotonic() + PREPARE_TIMEOUT
            try:
                prepare(item)
            except Exception:  # only ever a head start: the check itself does what is needed
                pass
            if progress is not None:
                progress[1] = time.monotonic()
            start += time.perf_counter() - before
        result = _call_with_soft_limit(fn, item, budget)
        if type(result) is Grade and (ident is None or type(ident) is str or type(ident) is int):
            middle = _middle(result)
            seconds = time.perf_counter() - start
            if seconds > budget:
                raise _SoftTimeout
            if middle is not None:
                line = (f'{{"id": {_json_scalar(ident)}, {middle}, '
                        f'"seconds": {round(seconds, 6)!r}}}')
                return result.verdict, line, False
        data = _check_result(result)
        seconds = time.perf_counter() - start
        if seconds > budget:  # finished, but too late (e.g. it swallowed the soft timeout)
            raise _SoftTimeout
        try:
            line = result_line(
                ident,
                data["verdict"],
                float(data.get("score", 0.0)),
                data.get("feedback"),
                data.get("error"),
                seconds,
                data,
            )
        except (TypeError, ValueError) as exc:
            raise _BadResult(f"it is not JSON ({exc})") from exc
        return data["verdict"], line, False
    except _SoftTimeout:
        seconds = time.perf_counter() - start
        line = error_line(ident, "timeout", timeout_message(budget), seconds, verdict="timeout")
        return "timeout", line, False
    except _BadResult as exc:
        message = f"the grading function returned an unusable result: {exc}"
        line = error_line(ident, "bad_result", message, time.perf_counter() - start)
        return "error", line, False
    except MemoryError:
        # What the failed allocation took is gone with the frames that asked for it; whether
        # the worker can go on is decided in _serve, not here.
        seconds = time.perf_counter() - start
        line = error_line(ident, "out_of_memory", memory_message(memory_limit), seconds)
        return "error", line, True
    except Exception as exc:
        # A process boundary: whatever the grading function raises is reported on its line so
        # the run goes on. The type name is kept because it is what a maintainer needs.
        message = f"the grading function failed: {type(exc).__name__}: {exc}"
        line = error_line(ident, "grader_failed", message, time.perf_counter() - start)
        return "error", line, False


# Results travel as length-prefixed pickles that the parent parses itself from a non-blocking
# pipe: one read() then collects every pending result, where Connection.poll()/recv() would cost
# a new selector and two reads per line.
_FRAME_HEADER = struct.Struct("!I")


def _send_frame(conn: Connection, message: tuple[Any, ...]) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_FRAME_HEADER.pack(len(data)) + data)
    fd = conn.fileno()
    while view:  # a large frame may be written in parts
        view = view[os.write(fd, view) :]


# Bytes a read of results asks for: a read allocates that much, and allocations above 128 KiB
# are fresh mappings whose pages the kernel faults in and zeroes on every read (a 1 MiB read
# size was an eighth of the parent's time on a million lines).
_READ_SIZE = 1 << 16


class _FrameReader:
    """Parent side of the results pipe: parses whole frames out of what has arrived."""

    __slots__ = ("_fd", "_buf")

    def __init__(self, conn: Connection) -> None:
        self._fd = conn.fileno()
        os.set_blocking(self._fd, False)
        self._buf = bytearray()

    def read(self) -> tuple[list[tuple[Any, ...]], bool]:
        """Every complete message available now, and whether the writer has gone (EOF)."""
        eof = False
        while True:
            try:
                data = os.read(self._fd, _READ_SIZE)
            except BlockingIOError:
                break
            if not data:
                eof = True
                break
            self._buf += data
            if len(data) < _READ_SIZE:
                break
        messages = []
        buf, pos, size = self._buf, 0, _FRAME_HEADER.size
        while len(buf) - pos >= size:
            (n,) = _FRAME_HEADER.unpack_from(buf, pos)
            if len(buf) - pos - size < n:
                break
            messages.append(pickle.loads(buf[pos + size : pos + size + n]))
            pos += size + n
        del buf[:pos]
        return messages, eof


def _exit_with_parent() -> None:
    """Exit as soon as the parent dies, even in the middle of a line.

    A parent killed outright (SIGKILL, SIGTERM) cannot kill us, and under forkserver we are not
    its children, so the kernel will not either. The watchdog runs whenever the grading code
    releases the GIL (sleeps, I/O, most C libraries) or returns to the interpreter.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="mathgrader-parent-watch", daemon=True).start()


# Exit status of a worker that ran out of memory outside any check (decoding a chunk, sending a
# result): the parent re-runs its line elsewhere and names the cause.
_EXIT_OUT_OF_MEMORY = 86
# After a check ran out of memory, the worker goes on only if this share of its limit can still be
# mapped; otherwise the memory is held where it cannot be freed (a cache, a leak) and it retires.
_HEADROOM_SHARE = 4
_MIN_HEADROOM = 64 * 1024 * 1024


def _address_space() -> int | None:
    """This process's mapped address space in bytes (Linux), None where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as f:
            pages = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * mmap.PAGESIZE


def _limit_memory(limit: int | None) -> int | None:
    """Cap this process's address space at `limit` bytes; return the limit now in force.

    A tighter limit already in place (`ulimit -v`) is kept. Raises `BatchError` when the limit
    leaves no room to grade anything.
    """
    try:
        import resource
    except ImportError:  # not POSIX: nothing to enforce
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    current = None if soft == resource.RLIM_INFINITY else soft
    if limit is None:
        return current
    wanted, limit = limit, limit if current is None else min(limit, current)  # soft <= hard
    used = _address_space()
    if used is not None and limit < used + _MIN_HEADROOM:
        source = f" (lowered from {_mb(wanted)} by ulimit -v)" if limit < wanted else ""
        raise BatchError(
            f"the memory limit of {_mb(limit)} per worker{source} is too low: a worker maps "
            f"{_mb(used)} before grading anything"
        )
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    return limit


# Allocations between two young-generation collections in a worker (Python's default: 700). A
# first-time check builds thousands of short-lived objects, so at the default the collector ran
# every few checks and, with the older generations it drags along, took 8-10% of a batch of new
# answers; 10,000 objects is a few hundred KB at most.
GC_YOUNG_THRESHOLD = 10_000


def settle_preloaded() -> None:
    """Set a fork server's garbage collector for the workers it forks, once its modules are
    loaded and warmed up: what is loaded by then lives as long as the worker, so it is moved out
    of the collector's sight (`gc.freeze`: collections in the workers no longer walk it, and
    walking it no longer copies its pages into each worker), and young collections run less
    often (`GC_YOUNG_THRESHOLD`). Called by the warm-up modules, the last ones a fork server
    preloads (and, on a daemonic Dask worker, the process that grades in its own thread)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def _has_headroom(limit: int | None) -> bool:
    """Whether a worker whose check ran out of memory can take the next line."""
    gc.collect()  # reference cycles may still hold what the failed check built
    size = max(_MIN_HEADROOM, (limit or 0) // _HEADROOM_SHARE)
    try:
        mmap.mmap(-1, size).close()  # reserves address space without touching a page
    except (OSError, MemoryError):
        return False
    return True


def _worker_main(
    tasks: Connection,
    results: Connection,
    grade_fn: str,
    budget: float,
    memory_limit: int | None = None,
    progress: Any = None,
    result_delay: float = 0.0,
    peers: Any = None,
    slot: int = 0,
) -> None:
    """Entry point of a worker process: grade chunks until the task pipe closes.

    `peers` (a `mathgrader.batch.peers.PeerResults`), when given, goes to the grading
    function's `share` hook as this worker's view of it (see `_sharer`)."""
    # Ctrl-C reaches the whole process group; the parent decides and kills us itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        # First, so that the watchdog thread and the grading module count against it.
        limit = _limit_memory(memory_limit)
    except BatchError as exc:
        _send_frame(results, ("start_error", str(exc)))
        return
    _exit_with_parent()
    # Stray prints in grading code must not end up in the JSON Lines written to stdout.
    os.dup2(2, 1)
    try:
        fn = load_grade_fn(grade_fn)
        share = _sharer(fn)
        if share is not None and peers is not None:
            share(peers.attach(slot))
    except Exception as exc:  # report any start-up failure instead of dying silently
        _send_frame(results, ("init_error", f"{type(exc).__name__}: {exc}"))
        return
    with soft_timer():
        _send_frame(results, ("ready", os.getpid()))
        try:
            _serve(tasks, results, fn, budget, limit, progress, result_delay)
        except MemoryError:
            os._exit(_EXIT_OUT_OF_MEMORY)


class _Outbox:
    """A worker's finished results, sent to the parent several lines to a frame.

    A frame per line costs a pickle, a write and often a wake-up of the parent: more than a
    repeated answer's whole check. `_serve` sends what is held before a line once the oldest
    result has waited `delay` seconds, and at the end of every chunk. So that results never wait
    for a slow line, a thread sends them when a check has been running for `delay`: it gets the
    interpreter whenever the check runs Python or C code that lets go of it (sleeps, I/O,
    OpenSSL). Only C code that holds the interpreter and ignores signals keeps them until the
    parent kills the worker, and the parent then re-runs them (see `WorkerPool._position`).
    """

    def __init__(self, conn: Connection, delay: float) -> None:
        self.conn = conn
        self.delay = delay
        self.results: list[tuple[Any, str, float]] = []
        self.oldest = 0.0  # when the first of them finished
        self.check_started = 0.0  # when the running check started; 0.0 between checks
        self.lock = threading.Lock()
        if delay > 0:
            threading.Thread(target=self._watch, name="mathgrader-results", daemon=True).start()

    def add(self, verdict: Any, line: str, finished: float) -> None:
        with self.lock:
            if not self.results:
                self.oldest = finished
            self.results.append((verdict, line, finished))

    def due(self, now: float) -> bool:
        return bool(self.results) and now - self.oldest >= self.delay

    def flush(self) -> None:
        with self.lock:
            self._send()

    def send(self, message: tuple[Any, ...]) -> None:
        """Send what is held, then `message`."""
        with self.lock:
            self._send()
            _send_frame(self.conn, message)

    def _send(self) -> None:
        if self.results:
            results, self.results = self.results, []
            _send_frame(self.conn, ("results", results))

    def _watch(self) -> None:
        while True:
            time.sleep(self.delay)
            started = self.check_started
            if self.results and started and time.monotonic() - started >= self.delay:
                with self.lock:
                    self._send()


def _serve(
    tasks: Connection,
    results: Connection,
    fn: Callable[[Any], Any],
    budget: float,
    limit: int | None,
    progress: Any = None,
    result_delay: float = 0.0,
) -> None:
    """A worker's loop: grade chunks until the task pipe closes or the worker must retire.

    Results go back through an `_Outbox`, several lines to a frame, and always at the end of a
    chunk. The parent knows which line is running and since when, whatever is still held: before
    each line the worker writes its number and start time into `progress`, memory shared with
    the parent (see `WorkerPool._position`).
    """
    outbox = _Outbox(results, result_delay)
    prepare = _preparer(fn)
    started = 0  # lines started by this worker, over all its chunks

    def grade(payload: LinePayload) -> tuple[str, str, bool]:
        """One line, with its number and start time in `progress`; and whether to retire."""
        nonlocal started
        now = time.monotonic()
        if outbox.due(now):
            outbox.flush()
        if progress is not None:
            progress[1] = now  # written before the number: the parent reads in that order
            progress[0] = started
        started += 1
        outbox.check_started = now
        verdict, line, out_of_memory = _grade(fn, payload, budget, limit, prepare, progress)
        outbox.check_started = 0.0
        # Decided before the result goes out, so the parent never starts the clock of a next
        # line that this worker will not grade.
        return verdict, line, out_of_memory and not _has_headroom(limit)

    while True:
        try:
            data = tasks.recv_bytes()
        except EOFError:
            return
        for payload in pickle.loads(data):
            retire = False
            if len(payload) == 2:  # a text block (see `Task`): split and stripped here
                lineno, text = payload
                pieces = split_text(text)
                counts: dict[str | None, int] = {}
                lines: list[str] = []
                done = 0
                for i, piece in enumerate(pieces):
                    done += 1
                    piece = piece.strip()
                    if not piece:
                        counts[None] = counts.get(None, 0) + 1
                        started += 1  # blank lines count, so that line numbers match
                        continue
                    verdict, line, retire = grade((lineno + i, piece, None, None))
                    counts[verdict] = counts.get(verdict, 0) + 1
                    lines.append(line)
                    if retire:
                        break
                outbox.add((done, counts), "\n".join(lines), time.monotonic())
                if retire:
                    outbox.send(("retire",))
                    return
                continue
            lineno, raw, ident, item = payload
            if type(raw) is list:  # a block: answered as one, the lines joined
                verdicts: list[str] = []
                lines = []
                for i, text in enumerate(raw):
                    verdict, line, retire = grade((lineno + i, text, None, None))
                    verdicts.append(verdict)
                    lines.append(line)
                    if retire:  # the parent re-sends the rest of the block
                        break
                # Each result's finish time tells the parent when the next line started, so
                # that line's deadline is exact however late the result arrives.
                outbox.add(verdicts, "\n".join(lines), time.monotonic())
            else:
                verdict, line, retire = grade((lineno, raw, ident, item))
                outbox.add(verdict, line, time.monotonic())
            if retire:
                # The parent hands the rest of our lines to a fresh worker.
                outbox.send(("retire",))
                return
        outbox.flush()


# ---------------------------------------------------------------------------------------------
# The pool (runs in the parent)
# ---------------------------------------------------------------------------------------------


class Task:
    """One non-blank input line on its way through the pool, or a block of consecutive ones.

    A block (`lines`, raw texts of lines numbered `lineno`, `lineno + 1`, ... and sequence
    numbers `seq`, `seq + 1`, ...) is sent, graded and answered as one: its result is a list of
    verdicts and the output lines joined, so the parent does per block what it would otherwise
    do per line. When a worker dies in the middle of a block, the block is split (`cut`) and
    the line that killed it goes on alone.

    A text block (`text`: consecutive input lines as read, each ending in a newline except
    perhaps the last, blank ones included) goes further: the parent never splits it into lines.
    The worker splits, strips and grades it, and answers `(lines done, {verdict: count})` (blank
    lines counted under None) with the output lines joined. Its `count` is the number of lines
    in the text, blank ones included, and so are its sequence numbers (see `text_lines`).
    """

    __slots__ = (
        "seq",
        "lineno",
        "raw",
        "ident",
        "item",
        "nbytes",
        "attempts",
        "spent",
        "sent_at",
        "chunk_bytes",
        "home",
        "lines",
        "count",
        "text",
    )

    def __init__(
        self,
        seq: int,
        lineno: int,
        raw: str | None,
        ident: Any = None,
        item: Any = None,
        nbytes: int = 0,
        home: int | None = None,
        lines: list[str] | None = None,
        text: str | None = None,
        count: int | None = None,
    ) -> None:
        self.lines = lines
        self.text = text
        if text is not None:  # `count`, when the caller has it: counting scans the text
            self.count = text_lines(text) if count is None else count
        else:
            self.count = 1 if lines is None else len(lines)
        self.seq = seq
        self.lineno = lineno
        self.raw = raw
        self.ident = ident
        self.item = item
        self.nbytes = nbytes
        self.attempts = 0  # how many workers died while grading it
        self.spent = 0.0  # seconds spent in attempts that ended with a dead worker
        self.sent_at = 0.0
        self.chunk_bytes = 0  # pickled size of its chunk, on the chunk's first task only
        # Tasks with the same `home` go to the same worker while it keeps up, so a repeated
        # answer is a first-time check once per run rather than once per worker (each worker
        # caches what it has checked). None: any worker.
        self.home = home

    def payload(self) -> Payload | TextPayload:
        if self.text is not None:
            return (self.lineno, self.text)
        return (self.lineno, self.raw if self.lines is None else self.lines, self.ident,
                self.item)

    def id(self) -> Any:
        return ident_of(self.raw) if self.raw is not None else self.ident

    def cut(self, i: int) -> tuple[Task | None, Task | None]:
        """A block's lines before line `i` and from it on, each a block (None when empty)."""
        if self.text is not None:
            pieces = _text_pieces(self.text)
            head, tail = "".join(pieces[:i]), "".join(pieces[i:])
            return (
                Task(self.seq, self.lineno, None, nbytes=len(head), home=self.home, text=head)
                if head else None,
                Task(self.seq + i, self.lineno + i, None, nbytes=len(tail), home=self.home,
                     text=tail) if tail else None,
            )
        assert self.lines is not None

        def part(start: int, end: int) -> Task | None:
            if start >= end:
                return None
            lines = self.lines[start:end]  # type: ignore[index]
            return Task(self.seq + start, self.lineno + start, None, nbytes=sum(map(len, lines)),
                        home=self.home, lines=lines)

        return part(0, i), part(i, self.count)

    def split(self, i: int) -> tuple[Task | None, Task, Task | None]:
        """(lines before line `i`, line `i` as a task of its own, lines after it).

        In a text block, line `i` is the first non-blank line from `i` on (the line a worker
        was grading is never blank); when there is none, the lines from `i` on come back as
        one text block, blaming nobody."""
        if self.text is not None:
            pieces = _text_pieces(self.text)
            i = next((j for j in range(i, len(pieces)) if pieces[j].strip()), i)
            before, rest = self.cut(i)
            assert rest is not None
            text = pieces[i].strip()
            if not text:
                return before, rest, None
            one = Task(rest.seq, rest.lineno, text, nbytes=len(text), home=self.home)
            return before, one, rest.cut(1)[1]
        if self.lines is None:
            return None, self, None
        before, rest = self.cut(i)
        assert rest is not None and rest.lines is not None
        text = rest.lines[0]
        one = Task(rest.seq, rest.lineno, text, nbytes=len(text), home=self.home)
        return before, one, rest.cut(1)[1]


def text_lines(text: str) -> int:
    r"""The number of lines in `text`: its newlines, and one more for a last line without one.

    >>> text_lines("a\n\nb\n"), text_lines("a\nb"), text_lines("")
    (3, 2, 0)
    """
    n = text.count("\n")
    return n + 1 if text and text[-1] != "\n" else n


def split_text(text: str) -> list[str]:
    """The lines of a text block (see `Task`), without their newlines.

    >>> split_text("a\\n\\n b\\n"), split_text("a"), split_text("")
    (['a', '', ' b'], ['a'], [])
    """
    pieces = text.split("\n")
    if not pieces[-1]:
        pieces.pop()  # the newline that ends the last line (or an empty text)
    return pieces


def text_tasks(text: str, first_lineno: int, block_lines: int) -> list[Task]:
    """Text blocks (see `Task`) of whole lines of `text`, the first numbered `first_lineno` and
    `seq` 0, about `block_lines` lines each: cut where that many lines' worth of characters
    ends, at the text's average line length, so that no line is looked at here."""
    average = len(text) // max(1, text.count("\n"))
    target = max(1, block_lines * average)
    tasks = []
    start = seq = 0
    while start < len(text):
        end = text.find("\n", start + target - 1) + 1 or len(text)
        task = Task(seq, first_lineno + seq, None, nbytes=end - start, text=text[start:end])
        tasks.append(task)
        seq += task.count
        start = end
    return tasks


def _text_pieces(text: str) -> list[str]:
    """The lines of `text`, each with its newline: only to cut a text block, which is rare."""
    pieces = [piece + "\n" for piece in text.split("\n")]
    last = pieces.pop()[:-1]
    if last:
        pieces.append(last)
    return pieces


Finished = tuple[Task, Any, str]
"""(task, verdict, output line); for a block, (task, its verdicts in order, its lines joined)"""


@dataclass(slots=True)
class PoolStats:
    started: int = 0  # worker processes started, replacements included
    killed: int = 0  # workers killed because a line overran its budget
    crashed: int = 0  # workers that died on their own while grading
    retired: int = 0  # workers that left after a check used up their memory limit

    @property
    def restarts(self) -> int:
        return self.killed + self.crashed + self.retired


class _Worker:
    __slots__ = (
        "proc",
        "tasks",
        "results",
        "frames",
        "queue",
        "ready",
        "broken",
        "retiring",
        "born",
        "head_started",
        "unread",
        "slot",
        "budget",
        "progress",
        "reported",
    )

    def __init__(
        self, proc: Any, tasks: Connection, results: Connection, slot: int, budget: int,
        progress: Any = None,
    ) -> None:
        self.proc = proc
        self.tasks = tasks
        self.results = results
        self.frames = _FrameReader(results)
        self.queue: deque[Task] = deque()  # sent and unanswered, in the order the worker grades
        self.ready = False
        self.broken = False  # a send failed: it is dying, wait for its EOF
        self.retiring = False  # it said it exits after its last result: not a crash
        self.born = time.monotonic()
        self.head_started = 0.0  # when queue[0] started
        self.unread = 0  # bytes sent that the worker has not read yet
        self.slot = slot  # which queue of tasks is its own; a replacement takes over the slot
        self.budget = budget  # bytes that may sit unread in its task pipe (see MIN_PIPE_BUDGET)
        # Shared with the worker: the number of the line it is grading and when it started.
        self.progress = progress
        self.reported = 0  # results received from it


# Signals a library may die of at the memory limit: GMP and C++ code abort when an allocation
# fails, and unchecked allocations crash.
_MEMORY_SIGNALS = frozenset({signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS})


def _describe_exit(code: int | None, memory_limit: int | None = None) -> str:
    if code == _EXIT_OUT_OF_MEMORY:
        limit = "" if memory_limit is None else f" at its limit of {_mb(memory_limit)}"
        return f"out of memory{limit}"
    if code is not None and code < 0:
        try:
            sig = signal.Signals(-code)
        except ValueError:
            return f"killed by signal {-code}"
        # A SIGKILL the pool sends is answered `timeout`, never described here: this one came
        # from outside, and the kernel's OOM killer is the usual sender.
        if sig == signal.SIGKILL:
            return "killed by SIGKILL, usually the system running out of memory"
        if sig in _MEMORY_SIGNALS and memory_limit is not None:
            return f"killed by {sig.name}, perhaps at the memory limit of {_mb(memory_limit)}"
        return f"killed by {sig.name}"
    return f"exit code {code}"


def default_grace(timeout: float) -> float:
    """Extra time before the hard kill, so the worker's own soft timeout usually wins."""
    return min(1.0, 0.2 + 0.1 * timeout)


def preload_modules(grade_fn: str, extra: Sequence[str] | None = None) -> list[str]:
    """Modules the fork server imports once, so that every worker starts with them loaded.

    Always this module (the workers' entry point) and the grading function's; then `extra`, by
    default mathgrader's checker when grading with mathgrader's own function.

    >>> preload_modules("mathgrader.checker.grade:grade_item")[1:]
    ['mathgrader.checker.grade', 'mathgrader.checker.equivalence']
    """
    module = grade_fn.partition(":")[0]
    if extra is None:
        # grade.py imports the checker lazily; preloading it is what makes replacements fast.
        extra = ["mathgrader.checker.equivalence"] if module.startswith("mathgrader.") else []
    return [__name__, module, *extra]


def _context(start_method: str | None) -> Any:
    if start_method is None:
        # Never "fork": the parent has threads (input reader, progress bar) and forking a
        # threaded process can deadlock the child; forkserver also keeps workers from inheriting
        # each other's pipes, so a dead worker is seen as EOF at once.
        methods = multiprocessing.get_all_start_methods()
        start_method = "forkserver" if "forkserver" in methods else "spawn"
    return multiprocessing.get_context(start_method)


def start_fork_server(
    grade_fn: str = DEFAULT_GRADE_FN, preload: Sequence[str] | None = None
) -> bool:
    """Start the process-wide fork server and its preload now, without waiting for either.

    The preload (numpy, mpmath, the parser: about half a second) is most of a short batch run,
    and the parent needs none of it: started first thing, it runs on another core while the
    caller goes on importing and parsing its arguments. A later `WorkerPool` with the same
    `grade_fn` and `preload` forks its workers from it. Returns False where there is no fork
    server.
    """
    ctx = _context(None)
    if ctx.get_start_method() != "forkserver":
        return False
    # Takes effect when the fork server starts, i.e. on the first call in this process.
    ctx.set_forkserver_preload(preload_modules(grade_fn, preload))
    from multiprocessing import forkserver

    forkserver.ensure_running()
    return True


def _pipe_budget(fd: int) -> int:
    """Bytes that may sit unread in the pipe written through `fd` (enlarged where possible)."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        capacity = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
    except (ImportError, AttributeError, OSError):  # not Linux, or over the system's pipe quota
        return MIN_PIPE_BUDGET
    return max(MIN_PIPE_BUDGET, capacity // 2)


class WorkerPool:
    """Grades submitted tasks in `workers` processes, each line under a hard time budget.

    Drive it with `submit()` and `step()`; `step()` returns what finished. Use it as a context
    manager: leaving the block normally lets workers exit, leaving it on an exception kills them.
    Each worker caps its address space at `memory_limit` bytes (None: no cap of its own).

    Every worker has a queue of its own: a task goes to the one its `home` names (round robin
    when it has none), and an idle worker whose queue is empty takes the oldest tasks of the
    longest other queue rather than wait. Chunks are sized to about `CHUNK_SECONDS` of measured
    grading unless `chunk_size` fixes their number of lines.
    """

    def __init__(
        self,
        grade_fn: str = DEFAULT_GRADE_FN,
        *,
        workers: int = 1,
        timeout: float = DEFAULT_TIMEOUT,
        chunk_size: int | None = None,
        max_attempts: int = 2,
        grace: float | None = None,
        preload: Sequence[str] | None = None,
        start_method: str | None = None,
        memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
        result_delay: float = RESULT_DELAY,
    ) -> None:
        if workers < 1:
            raise BatchError("workers must be at least 1")
        if not (timeout > 0 and math.isfinite(timeout)):
            raise BatchError("the timeout must be a positive number of seconds")
        if memory_limit is not None and memory_limit < 1:
            raise BatchError("the memory limit must be a positive number of bytes, or None")
        if (chunk_size is not None and chunk_size < 1) or max_attempts < 1:
            raise BatchError("chunk_size and max_attempts must be at least 1")
        self.grade_fn = grade_fn
        self.n_workers = workers
        self.timeout = timeout
        self.chunk_size = chunk_size
        self.max_attempts = max_attempts
        self.memory_limit = memory_limit
        self.result_delay = max(0.0, result_delay)
        self.grace = default_grace(timeout) if grace is None else grace
        self.stats = PoolStats()
        self._ctx = _context(start_method)
        if self._ctx.get_start_method() == "forkserver":
            start_fork_server(grade_fn, preload)  # its preload overlaps the caller's set-up
        self._preload = preload
        self._workers: list[_Worker] = []
        # One selector for the pool's lifetime: building one per wait costs more than grading a
        # cheap line. Keys carry (worker, is_sentinel); the caller's wake fd carries None.
        self._selector = selectors.DefaultSelector()
        self._wake: int | None = None
        self._todo: list[deque[Task]] = [deque() for _ in range(workers)]  # one per slot
        self._queued = 0  # tasks in all of self._todo
        self._next_slot = 0  # round robin for tasks without a home
        self._line_seconds: float | None = None  # moving average of a line's grading time
        self._finished: list[Finished] = []
        self._closed = False
        # Several workers share what they find (see `_sharer`); one has no one to share with.
        self._peers: Any = None
        if workers > 1:
            from .peers import PeerResults

            self._peers = PeerResults.create(workers)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        taken = {w.slot for w in self._workers}
        for slot in range(self.n_workers):
            if slot not in taken:
                self._spawn(slot)

    def __enter__(self) -> WorkerPool:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(kill=exc_type is not None)

    def close(self, *, kill: bool = False) -> None:
        """Stop every worker: politely (EOF on its pipe) unless `kill`, then SIGKILL stragglers."""
        if self._closed:
            return
        self._closed = True
        workers, self._workers = self._workers, []
        for w in workers:
            if kill:
                w.proc.kill()
            w.tasks.close()
        deadline = time.monotonic() + 2.0
        for w in workers:
            w.proc.join(max(0.0, deadline - time.monotonic()))
            self._bury(w)
        self._selector.close()

    def pids(self) -> list[int]:
        return [w.proc.pid for w in self._workers]

    # -- work -----------------------------------------------------------------------------

    def submit(self, task: Task) -> None:
        if task.home is None:
            slot = self._next_slot
            self._next_slot = (slot + 1) % self.n_workers
        else:
            slot = task.home % self.n_workers
        self._todo[slot].append(task)
        self._queued += 1

    @property
    def pending(self) -> int:
        """Tasks submitted and not yet returned by `step()`."""
        return self._queued + sum(len(w.queue) for w in self._workers) + len(self._finished)

    def step(self, timeout: float | None = None, wake: int | None = None) -> list[Finished]:
        """Dispatch work, wait for progress, enforce deadlines; return the finished tasks.

        Waits at most `timeout` seconds (None: until something happens) and returns early when
        the file descriptor `wake` becomes readable, so the caller can feed in new input.
        """
        self._dispatch()
        if self._finished:
            timeout = 0.0
        elif not self.pending and wake is None and timeout is None:
            return []
        deadline = self._next_deadline()
        if deadline is not None:
            left = max(0.0, deadline - time.monotonic())
            timeout = left if timeout is None else min(timeout, left)
        if wake != self._wake:
            if self._wake is not None:
                self._selector.unregister(self._wake)
            if wake is not None:
                self._selector.register(wake, selectors.EVENT_READ, None)
            self._wake = wake
        ready: dict[_Worker, bool] = {}  # worker -> its process has exited
        for key, _ in self._selector.select(timeout):
            if key.data is not None:
                w, is_sentinel = key.data
                ready[w] = ready.get(w, False) or is_sentinel
        for w, exited in ready.items():
            if w in self._workers:  # not already buried by an earlier death in this loop
                self._drain(w, exited=exited)
        self._reap_overdue()
        self._dispatch()
        finished, self._finished = self._finished, []
        return finished

    # -- internals ------------------------------------------------------------------------

    def _spawn(self, slot: int) -> None:
        task_r, task_w = self._ctx.Pipe(duplex=False)
        result_r, result_w = self._ctx.Pipe(duplex=False)
        progress = self._ctx.RawArray("d", 2)
        progress[0] = -1.0  # no line started yet
        proc = self._ctx.Process(
            target=_worker_main,
            args=(task_r, result_w, self.grade_fn, self.timeout, self.memory_limit, progress,
                  self.result_delay, self._peers, slot),
            name=f"mathgrader-batch-{self.stats.started}",
            daemon=True,
        )
        try:
            proc.start()
        except (OSError, EOFError) as exc:
            for conn in (task_r, task_w, result_r, result_w):
                conn.close()
            # EOF from the fork server means it died, typically on a preloaded module that
            # raised something other than ImportError while being imported.
            raise BatchError(
                f"could not start a worker process ({type(exc).__name__}: {exc}); is every "
                f"module in {preload_modules(self.grade_fn, self._preload)} importable?"
            ) from exc
        # Only the worker may hold these ends: then its death shows up as EOF / EPIPE here.
        task_r.close()
        result_w.close()
        self.stats.started += 1
        _pipe_budget(result_r.fileno())  # a block's results then go in one write
        w = _Worker(proc, task_w, result_r, slot, _pipe_budget(task_w.fileno()), progress)
        self._selector.register(result_r, selectors.EVENT_READ, (w, False))
        self._selector.register(proc.sentinel, selectors.EVENT_READ, (w, True))
        self._workers.append(w)

    def _bury(self, w: _Worker) -> int | None:
        self._selector.unregister(w.results)
        self._selector.unregister(w.proc.sentinel)
        if w.proc.is_alive():
            w.proc.kill()
        w.proc.join()
        code: int | None = w.proc.exitcode
        w.tasks.close()
        w.results.close()
        w.proc.close()
        return code

    def _requeue(self, w: _Worker, tasks: Sequence[Task]) -> None:
        """Put tasks back at the head of `w`'s queue: they hold back the ordered output."""
        self._todo[w.slot].extendleft(reversed(tasks))
        self._queued += len(tasks)

    def block_lines(self) -> int:
        """How many consecutive raw lines to send as one block now: BLOCK_LINES, or a chunk's
        worth when that is more (about CHUNK_SECONDS of grading at the measured cost of a line,
        at most MAX_CHUNK_LINES). Repeated answers then go about a thousand to a block."""
        return max(BLOCK_LINES, self._chunk_limit())

    def _chunk_limit(self) -> int:
        """Lines per chunk: fixed by `chunk_size`, else about CHUNK_SECONDS of grading."""
        if self.chunk_size is not None:
            return self.chunk_size
        if self._line_seconds is None:
            return MIN_CHUNK_LINES
        lines = int(CHUNK_SECONDS / max(self._line_seconds, 1e-6))
        return max(MIN_CHUNK_LINES, min(MAX_CHUNK_LINES, lines))

    def _dispatch(self) -> None:
        if not self._queued:
            return
        limit = self._chunk_limit()
        ready = [w for w in self._workers if w.ready and not w.broken]
        idle = [w for w in ready if not w.queue]
        # First an even share for every idle worker, so a short input is spread across them...
        for i, w in enumerate(idle):
            if not self._queued:
                return
            share = -(-self._queued // (len(idle) - i))
            self._send(w, limit, pipelined=False, tasks=share)
        # ...then one more chunk queued behind each busy worker, so none waits on a round trip.
        for w in sorted(ready, key=lambda w: len(w.queue)):
            if not self._queued:
                return
            if not w.broken and 0 < len(w.queue) <= limit:
                self._send(w, limit, pipelined=True)

    def _send(self, w: _Worker, limit: int, *, pipelined: bool, tasks: int = 1 << 30) -> None:
        """Send `w` a chunk of at most `limit` lines in at most `tasks` tasks."""
        # Its own tasks; an idle worker with none left takes the oldest of the longest queue
        # (they hold back the output) rather than wait, a busy one leaves them to their worker.
        todo = self._todo[w.slot]
        if not todo:
            if pipelined:
                return
            todo = max(self._todo, key=len)
        max_bytes = w.budget // 2
        chunk: list[Task] = []
        nbytes = lines = 0
        while todo and lines < limit and len(chunk) < tasks:
            if chunk and nbytes + todo[0].nbytes > max_bytes:
                break
            task = todo.popleft()
            chunk.append(task)
            nbytes += task.nbytes
            lines += task.count
        self._queued -= len(chunk)
        # A pickle is no smaller than its lines' text: a chunk whose text does not fit is not
        # pickled only to be put back (on a batch of repeated answers, the parent once pickled
        # six times what it sent).
        if pipelined and w.unread + nbytes > w.budget:
            todo.extendleft(reversed(chunk))
            self._queued += len(chunk)
            return
        data = pickle.dumps([t.payload() for t in chunk], protocol=pickle.HIGHEST_PROTOCOL)
        if pipelined and w.unread + len(data) > w.budget:
            todo.extendleft(reversed(chunk))
            self._queued += len(chunk)
            return
        try:
            w.tasks.send_bytes(data)
        except OSError:  # broken pipe: the worker is dead; its EOF will be handled in step()
            w.broken = True
            todo.extendleft(reversed(chunk))
            self._queued += len(chunk)
            return
        now = time.monotonic()
        for t in chunk:
            t.sent_at = now
            t.chunk_bytes = 0
        chunk[0].chunk_bytes = len(data)
        was_idle = not w.queue
        w.queue.extend(chunk)
        w.unread += len(data)
        if was_idle:
            self._start_head(w, now)

    @staticmethod
    def _start_head(w: _Worker, started: float) -> None:
        head = w.queue[0]
        w.head_started = started
        # The worker reads a whole chunk before grading its first line.
        w.unread -= head.chunk_bytes
        head.chunk_bytes = 0

    def _drain(self, w: _Worker, *, exited: bool = False) -> None:
        """Read everything the worker has sent; handle its death if the pipe reached EOF."""
        messages, eof = w.frames.read()
        if exited and not eof:
            # The process is gone, so EOF is due; its last results may still be in flight.
            while not eof and wait([w.results], 1.0):
                more, eof = w.frames.read()
                messages += more
        for message in messages:
            if message[0] == "results":
                self._take_results(w, message[1])
            else:
                self._handle(w, message)
        if eof or exited:
            self._on_death(w)

    def _take_results(self, w: _Worker, results: list[tuple[Any, ...]]) -> None:
        """Finish the worker's first len(results) tasks, in order, and time its next one.

        Each result carries the time its line finished, which is when the worker started the
        next line of the same chunk: deadlines stay exact however late the parent reads.
        """
        started = w.head_started
        total = 0.0
        lines = 0
        for verdict, line, finished_at in results:
            kind = type(verdict)
            count = 1 if kind is str else len(verdict) if kind is list else verdict[0]
            w.reported += count
            lines += count
            task = w.queue[0]
            if count < task.count:  # a block the worker left part-way: the rest is re-sent
                done, rest = task.cut(count)
                assert done is not None and rest is not None
                task, w.queue[0] = done, rest
            else:
                w.queue.popleft()
            if task.chunk_bytes:  # the first line of a chunk the worker has read meanwhile
                w.unread -= task.chunk_bytes
                task.chunk_bytes = 0
            started = max(started, task.sent_at)
            total += max(0.0, finished_at - started)
            started = finished_at
            if task.spent:
                line = _add_seconds(line, task.spent)
            self._finished.append((task, verdict, line))
        average = total / lines
        previous = self._line_seconds
        self._line_seconds = average if previous is None else 0.7 * previous + 0.3 * average
        if w.queue:
            self._start_head(w, min(time.monotonic(), max(started, w.queue[0].sent_at)))

    def _handle(self, w: _Worker, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "ready":
            w.ready = True
        elif kind == "retire":
            w.retiring = w.broken = True  # no more work for it; its EOF follows
        elif kind == "init_error":
            raise BatchError(f"a worker could not load {self.grade_fn!r}: {message[1]}")
        elif kind == "start_error":
            raise BatchError(message[1])

    def _on_death(self, w: _Worker) -> None:
        now = time.monotonic()
        self._workers.remove(w)
        code = self._bury(w)
        if not w.ready:
            raise BatchError(f"a worker process exited during start-up ({_describe_exit(code)})")
        rest = list(w.queue)
        index, line, started = self._position(w)
        if w.retiring:
            # It left on purpose after answering its last line: the rest were never started.
            self.stats.retired += 1
        else:
            self.stats.crashed += 1
        if rest and not w.retiring:  # the line it was grading killed it
            # Lines before it were graded, but their results died unsent: they run again.
            before, culprit, after = rest[index].split(line)
            rest[index : index + 1] = [t for t in (before, culprit, after) if t is not None]
            index = rest.index(culprit)
            if culprit.text is None:  # else only blank lines were left: nothing to blame
                culprit.attempts += 1
                culprit.spent += max(0.0, now - started)  # in the future while preparing
            if culprit.attempts >= self.max_attempts:
                rest.pop(index)
                message = (
                    f"the grading process died {culprit.attempts} times while checking this "
                    f"line (last: {_describe_exit(code, self.memory_limit)})"
                )
                self._finished.append(
                    (
                        culprit,
                        "error",
                        error_line(culprit.id(), "worker_crashed", message, culprit.spent),
                    )
                )
        # Unfinished lines go first: they hold back the ordered output.
        self._requeue(w, rest)
        if not self._closed:
            self._spawn(w.slot)

    @staticmethod
    def _position(w: _Worker) -> tuple[int, int, float]:
        """Which task of `w.queue` the worker is grading, which line of it, and since when.

        Read from the memory the worker shares (its line number and start time, written before
        each line), so lines it has finished but not yet reported are counted: they come first.
        When that says nothing usable (no line started, or the worker is between chunks), the
        first line of the head of the queue, since the last reported finish.
        """
        if w.progress is not None:
            number, started = w.progress[0], w.progress[1]  # in the reverse order of writing
            offset = int(number) - w.reported
            if number >= 0 and offset >= 0:
                for index, task in enumerate(w.queue):
                    if offset < task.count:
                        return index, offset, max(started, task.sent_at)
                    offset -= task.count
        return 0, 0, w.head_started

    def _next_deadline(self) -> float | None:
        deadlines = []
        for w in self._workers:
            if w.queue:
                deadlines.append(w.head_started + self.timeout + self.grace)
            elif not w.ready:
                deadlines.append(w.born + START_TIMEOUT)
        return min(deadlines, default=None)

    def _reap_overdue(self) -> None:
        for w in list(self._workers):
            if not w.ready and time.monotonic() > w.born + START_TIMEOUT:
                raise BatchError(f"a worker did not start within {START_TIMEOUT:g} s")
            if not w.queue or time.monotonic() < w.head_started + self.timeout + self.grace:
                continue
            self._drain(w)  # its result may have arrived while we were busy elsewhere
            if w not in self._workers or not w.queue:
                continue
            if w.retiring:  # it said it would exit and has not: its lines were never started
                w.proc.kill()
                self._drain(w, exited=True)
                continue
            now = time.monotonic()
            index, line_in_task, started = self._position(w)
            if now < started + self.timeout + self.grace:
                # The line it is on started later than the parent could tell: the lines before
                # it are finished but not yet reported, or it was being prepared (then its start
                # is in the future, and its deadline is looked at again a budget from now).
                w.head_started = min(started, now)
                continue
            # Overran even the soft limit: SIGKILL is the only thing C code cannot ignore.
            self._workers.remove(w)
            self._bury(w)
            self.stats.killed += 1
            # Lines before it were graded, but their results die with the worker: they run again.
            lost = [w.queue.popleft() for _ in range(index)]
            before, task, after = w.queue.popleft().split(line_in_task)
            lost += [t for t in (before, after) if t is not None]
            if task.text is not None:  # only blank lines were left (see `Task.split`)
                self._requeue(w, [*lost, task, *w.queue])
                self._spawn(w.slot)
                continue
            seconds = task.spent + now - started
            line = error_line(
                task.id(), "timeout", timeout_message(self.timeout), seconds, verdict="timeout"
            )
            self._finished.append((task, "timeout", line))
            self._requeue(w, [*lost, *w.queue])
            self._spawn(w.slot)


def _add_seconds(line: str, extra: float) -> str:
    # Only for lines re-run after a crash, so the cost of re-encoding does not matter.
    record = json.loads(line)
    record["seconds"] = round(record["seconds"] + extra, 6)
    return json.dumps(record)
