"""`run_batch`: stream JSON Lines through the worker pool and write results in input order.

The runner owns the streaming: a reader thread pulls input lines lazily (so a slow producer on
stdin never stops the parent from enforcing deadlines), a bounded window of lines is in flight at
any time, and a reorder buffer writes each result as soon as every earlier line has been written.
Memory therefore stays constant however long the input is. Grading itself happens in
`mathgrader.batch.pool`.
"""

from __future__ import annotations

import io
import itertools
import os
import queue
import re
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..checker.grade import VERDICTS
from ..errors import MathgraderError
from .pool import (
    DEFAULT_GRADE_FN,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_TIMEOUT,
    BatchError,
    Task,
    WorkerPool,
    decode_line,
    error_line,
    load_grade_fn,
    raw_blocks,
    result_line,
    text_lines,
)

__all__ = ["RESOLVE_ERRORS", "BatchInputError", "BatchStats", "Resolver", "run_batch"]

Resolver = Callable[[dict[str, Any]], Any]
"""Maps a decoded input object to what the grading function receives (e.g. an answer-key item)."""

# What a resolver may raise to reject one line (unknown question, bad field); anything else is a
# bug in the resolver and stops the run.
RESOLVE_ERRORS: tuple[type[Exception], ...] = (MathgraderError, LookupError, ValueError, TypeError)


class BatchInputError(BatchError):
    """The input stream failed part-way (unreadable file, bad encoding).

    Every line read before the failure has been answered; `stats` counts them.
    """

    def __init__(self, message: str, stats: BatchStats) -> None:
        super().__init__(message)
        self.stats = stats


@dataclass(slots=True)
class BatchStats:
    """What the CLI needs to report and to choose an exit status."""

    lines: int = 0  # non-blank input lines; each got exactly one output line
    blank_lines: int = 0
    verdicts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VERDICTS, 0))
    seconds: float = 0.0  # wall time of the whole run
    workers: int = 0
    worker_restarts: int = 0  # workers replaced after a timeout kill or a crash

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds > 0 else 0.0


class _Writable(Protocol):
    def write(self, text: str, /) -> object: ...


def run_batch(
    lines: Iterable[str],
    write: Callable[[str], object] | _Writable,
    *,
    workers: int = 1,
    timeout: float = DEFAULT_TIMEOUT,
    progress: bool | None = None,
    grade_fn: str = DEFAULT_GRADE_FN,
    resolve: Resolver | None = None,
    chunk_size: int | None = None,
    max_pending: int = 16384,
    max_pending_bytes: int = 64 * 1024 * 1024,
    total: int | None = None,
    preload: Sequence[str] | None = None,
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
    line_offset: int = 0,
) -> BatchStats:
    """Grade JSON Lines submissions and write one JSON result line per non-blank input line.

    `lines` is read lazily (a file object, `sys.stdin`, a generator). `write` is a text stream or
    a callable; each call gets one or more whole lines, each ending in a newline. Results come
    out in input order. Each line's check runs in one of `workers` processes and gets `timeout`
    seconds; a line that overruns gets verdict `timeout`, a line that kills its worker twice gets
    `error`, and the run goes on. `grade_fn` ("module:function") receives the decoded object, or
    what `resolve(object)` returns when a resolver is given, and returns a grade (with
    `to_dict()`) or a dict. `chunk_size` fixes how many lines a worker is sent at a time
    (default: as many as take about 10 ms, from the measured cost of a line). At most
    `max_pending` lines (and `max_pending_bytes` of input) are held between reading and
    writing. `progress` shows a bar on stderr (default: when stderr
    is a terminal); `total`, when known, gives the bar an end. `preload` names further modules
    for the fork server to import once, so that new workers start fast (a CLI should name its
    own module: workers re-run the main script). Each worker's address space is capped at
    `memory_limit` bytes (None: no cap); a check that runs out of it gets verdict `error`.
    `line_offset` counts input lines consumed before `lines` (when resuming a run), so that
    messages give line numbers in the whole input.

    Raises `BatchError` when the run cannot start (bad grading function, bad settings) and
    `BatchInputError` when reading the input fails part-way, after answering what was read.

    >>> import io, json
    >>> out = io.StringIO()
    >>> stats = run_batch(['{"id": 1, "answer": "x"}', "", "{oops"], out)
    >>> [(r["id"], r["verdict"]) for r in map(json.loads, out.getvalue().splitlines())]
    [(1, 'error'), (None, 'error')]
    >>> stats.lines, stats.blank_lines, stats.verdicts["error"]
    (2, 1, 2)
    """
    if max_pending < 1 or max_pending_bytes < 1:
        raise BatchError("max_pending and max_pending_bytes must be at least 1")
    if line_offset < 0:
        raise BatchError("line_offset must not be negative")
    # Fail here, with a clear message, rather than in every worker.
    load_grade_fn(grade_fn)
    emit = write.write if hasattr(write, "write") else write
    flush = getattr(write, "flush", None)
    stats = BatchStats(workers=workers)
    started = time.perf_counter()
    show = progress if progress is not None else _stderr_is_terminal()

    with ExitStack() as stack:
        pool = stack.enter_context(
            WorkerPool(
                grade_fn,
                workers=workers,
                timeout=timeout,
                chunk_size=chunk_size,
                preload=preload,
                memory_limit=memory_limit,
            )
        )
        reader = stack.enter_context(_LineReader(lines))
        advance = stack.enter_context(_progress_bar(show, total))
        pump = _Pump(pool, reader, resolve, max_pending, max_pending_bytes)
        pump.lineno = line_offset
        for text, count in pump.run(stats):
            emit(text)
            # Flushed at once so a reader downstream sees results as they come; each call
            # already carries every line that was ready, so this costs little.
            if flush is not None:
                flush()
            advance(count)
        stats.worker_restarts = pool.stats.restarts
    stats.seconds = time.perf_counter() - started
    if reader.error is not None:
        if not isinstance(reader.error, Exception):
            raise reader.error
        raise BatchInputError(f"could not read the input: {reader.error}", stats) from reader.error
    return stats


_GATHER = 0.001  # seconds the parent waits for more results after a few came in


class _Pump:
    """The parent's loop: read into the window, feed the pool, write results in order."""

    def __init__(
        self,
        pool: WorkerPool,
        reader: _LineReader,
        resolve: Resolver | None,
        max_pending: int,
        max_pending_bytes: int,
    ) -> None:
        self.pool = pool
        self.reader = reader
        self.resolve = resolve
        self.max_pending = max_pending
        self.max_pending_bytes = max_pending_bytes
        self.route = pool.n_workers > 1  # one worker: nowhere else to send a line
        self.batch: list[str] = []  # the lines last read, of which `taken` are numbered
        self.taken = 0
        # A regular text file without a resolver goes as text blocks (see `_take_text`); then
        # sequence numbers count blank lines too.
        self.by_text = resolve is None and reader.text
        self.text = ""  # whole lines read and not yet submitted
        self.text_chars = self.text_lines = 0  # read so far, to size blocks in characters
        self.lineno = 0
        self.next_seq = 0  # sequence number of the next non-blank line read
        self.next_write = 0  # sequence number of the next line to write
        self.pending_bytes = 0
        # seq of a task's first line -> (verdict, or a block's verdicts; its output; its input
        # bytes; its number of lines)
        self.done: dict[int, tuple[Any, str, int, int]] = {}

    def _has_room(self) -> bool:
        return (
            self.next_seq - self.next_write < self.max_pending
            and self.pending_bytes < self.max_pending_bytes
        )

    def _block_lines(self) -> int:
        """Lines per block: the pool's choice, but small enough that the window holds four
        blocks for every worker. Output is written in order, so a block finished early waits
        for the blocks before it, and holds its room in the window meanwhile: with room for two
        blocks a worker, two workers were slower than one on cheap lines, each idling while the
        other finished the block that held up the output."""
        return max(1, min(self.pool.block_lines(),
                          self.max_pending // (4 * self.pool.n_workers)))

    def _has_room_for_text(self) -> bool:
        """`_has_room` for a whole text block, or for anything when nothing is in flight: a
        sliver of a block would cost the parent as much as a few hundred cheap lines."""
        if not self._has_room():
            return False
        free = self.next_write + self.max_pending - self.next_seq
        return free >= self._block_lines() or (
            self.next_write == self.next_seq)

    def run(self, stats: BatchStats) -> Iterator[tuple[str, int]]:
        """Yield (text to write, number of lines in it) until every line is answered."""
        while True:
            self._take_input(stats)
            out = []
            written = 0
            verdicts = stats.verdicts
            while self.next_write in self.done:
                verdict, line, nbytes, count = self.done.pop(self.next_write)
                self.next_write += count
                self.pending_bytes -= nbytes
                kind = type(verdict)
                if kind is str:
                    verdicts[verdict] = verdicts.get(verdict, 0) + 1
                    written += 1
                elif kind is list:
                    for one in verdict:
                        verdicts[one] = verdicts.get(one, 0) + 1
                    written += count
                else:  # a text block's (lines, {verdict: count}); blank lines under None
                    for one, n in verdict[1].items():
                        if one is None:
                            stats.blank_lines += n
                        else:
                            verdicts[one] = verdicts.get(one, 0) + n
                            written += n
                    if not line:  # nothing but blank lines
                        continue
                out.append(line)
            if out:
                stats.lines += written
                yield "\n".join(out) + "\n", written
            if (self.reader.exhausted and self.taken >= len(self.batch) and not self.text
                    and self.next_write == self.next_seq):
                return
            room = self._has_room_for_text() if self.by_text else self._has_room()
            wake = self.reader.fd if room and not self.reader.exhausted else None
            finished = self.pool.step(wake=wake)
            for task, verdict, line in finished:
                self.done[task.seq] = (verdict, line, task.nbytes, task.count)
            if finished and len(finished) < self.pool.n_workers * 4:
                # Workers report each line, or block of lines, as it finishes (its deadline
                # depends on it); waking for every one would make this loop the bottleneck, so
                # let a few results gather first. Deadlines are unaffected: they come from the
                # workers' own finish times.
                time.sleep(_GATHER)

    def _take_input(self, stats: BatchStats) -> None:
        if self.resolve is not None:
            self._take_resolving(stats)
            return
        if self.by_text:
            self._take_text()
            return
        # Raw lines go out in blocks of consecutive lines (see `Task`); a worker decodes and
        # grades each line. The parent's work is per batch of lines read and per block, and in C
        # where it is per line (strip, blank search, slicing): on a batch of repeated answers
        # its share of the machine is what a second worker cannot have.
        while self._has_room():
            if self.taken >= len(self.batch):
                if not self._refill():
                    return
                continue
            # Never more lines than the window has room for, blank ones included.
            room = self.next_write + self.max_pending - self.next_seq
            end = min(len(self.batch), self.taken + room)
            lines = list(map(str.strip, self.batch[self.taken:end]))
            self.taken = end
            self._submit_raw(lines, stats)

    def _take_text(self) -> None:
        """`_take_input` for a regular text file: the file is read as text and cut into blocks
        of whole lines where a block's worth of characters ends, so the parent's work is per
        block, and per character only in C (decoding, searching and counting newlines). The
        worker splits, strips and numbers the lines (see `Task`)."""
        while self._has_room_for_text():
            # A block's worth of characters, at the average length of a line so far.
            average = self.text_chars // self.text_lines if self.text_lines else 128
            target = self._block_lines() * max(1, average)
            text = self.text
            if len(text) < target:
                # Joined once: adding each 8 KiB piece to the text copied a block's text some
                # twenty times over.
                pieces, size = [text], len(text)
                while size < target:
                    more = self.reader.take_text()
                    if more is None:
                        break
                    pieces.append(more)
                    size += len(more)
                text = "".join(pieces)
            if not text:
                return
            end = text.find("\n", target - 1) + 1 or len(text)
            block = text[:end]
            count = text_lines(block)
            room = self.next_write + self.max_pending - self.next_seq
            if count > room:  # never more lines than the window has room for
                end = 0
                for _ in range(room):
                    end = text.find("\n", end) + 1
                block, count = text[:end], room
            self.text = text[end:]
            self.text_chars += len(block)
            self.text_lines += count
            # No home: blocks take turns (round robin), so each worker always has the next
            # block queued. A block of a thousand lines holds every question of a file sorted
            # by learner, so its first line said little, and the workers share first-time
            # checks through their peer store anyway (see `mathgrader.batch.peers`).
            self.pool.submit(Task(self.next_seq, self.lineno + 1, None, nbytes=len(block),
                                  text=block, count=count))
            self.next_seq += count
            self.lineno += count
            self.pending_bytes += len(block)
            if self.reader.exhausted and not self.text:
                return

    def _refill(self) -> bool:
        """Take the reader's next batch of lines; False when it has none right now."""
        batch = self.reader.take()
        if batch is None:
            return False
        self.batch, self.taken = batch, 0
        return True

    def _submit_raw(self, lines: list[str], stats: BatchStats) -> None:
        """Submit stripped input lines, numbered on from `lineno`, in blocks; blank lines are
        counted and break blocks (a block's line numbers are consecutive)."""
        submit, route = self.pool.submit, self.route
        lineno, seq = self.lineno, self.next_seq
        total = 0
        for first, block in raw_blocks(lines, self._block_lines()):
            nbytes = sum(map(len, block))
            total += nbytes
            seq += len(block)
            submit(_block(block, seq, lineno + first + len(block), nbytes, route))
        stats.blank_lines += len(lines) - (seq - self.next_seq)
        self.lineno = lineno + len(lines)
        self.next_seq = seq
        self.pending_bytes += total

    def _take_resolving(self, stats: BatchStats) -> None:
        """`_take_input` with answer keys: each line is decoded and resolved here."""
        while self._has_room():
            if self.taken >= len(self.batch):
                if not self._refill():
                    return
                continue
            text = self.batch[self.taken].strip()
            self.taken += 1
            self.lineno += 1
            if not text:
                stats.blank_lines += 1
                continue
            nbytes = len(text)
            self._resolve(Task(self.next_seq, self.lineno, text, None, None, nbytes))
            self.next_seq += 1
            self.pending_bytes += nbytes

    def _resolve(self, task: Task) -> None:
        assert self.resolve is not None and task.raw is not None
        start = time.perf_counter()
        ident, item, problem = decode_line(task.raw, task.lineno)
        if problem is not None:
            line = error_line(ident, "bad_json", problem, time.perf_counter() - start)
            self.done[task.seq] = ("error", line, task.nbytes, 1)
            return
        try:
            task.item = self.resolve(item)
        except RESOLVE_ERRORS as exc:
            error = _resolve_error(exc)
            line = result_line(
                ident, "error", 0.0, error["message"], error, time.perf_counter() - start
            )
            self.done[task.seq] = ("error", line, task.nbytes, 1)
            return
        task.ident, task.raw = ident, None  # the worker grades the resolved item as is
        if self.route:
            task.home = _home_of(task.item)
        self.pool.submit(task)


def _block(lines: list[str], end_seq: int, end_lineno: int, nbytes: int, route: bool) -> Task:
    """The task for `lines`, the last of which has sequence number `end_seq - 1` and line number
    `end_lineno`. Routed by its first line (see `_home_of_text`): in a file sorted by question,
    its lines share a reference."""
    count = len(lines)
    home = _home_of_text(lines[0]) if route else None
    if count == 1:
        return Task(end_seq - 1, end_lineno, lines[0], None, None, nbytes, home)
    return Task(end_seq - count, end_lineno - count + 1, None, None, None, nbytes, home, lines)


def _home_of(item: Any) -> int | None:
    """Which worker should grade a resolved item (see `_home_of_text`)."""
    if not isinstance(item, dict):
        return None
    fields = tuple(item.get(name) for name in ("reference", "question", "answer"))
    if all(field is None for field in fields):
        return None
    return hash(tuple(field if isinstance(field, str) else None for field in fields))


# The string values of "reference", "question" and "answer", wherever they are in a line.
_GRADED_FIELDS = re.compile(r'"(?:reference|question|answer)"\s*:\s*"((?:[^"\\]|\\.)*)"')


def _home_of_text(text: str) -> int | None:
    """Which worker should grade a raw line: lines with the same reference, question and
    answer share one, so that a repeated answer is a first-time check on one worker only (each
    worker caches its checks; in a quiz batch most lines are repeats). The id and other fields
    do not count. A regular expression rather than a JSON decode, at half the parent's cost: a
    line it misreads is only graded on another worker. None when no such field is found."""
    fields = _GRADED_FIELDS.findall(text)
    return hash(tuple(fields)) if fields else None


def _resolve_error(exc: Exception) -> dict[str, Any]:
    """The error object for a line the resolver rejected."""
    if isinstance(exc, MathgraderError) and hasattr(exc, "to_dict"):
        return dict(exc.to_dict())  # keeps the field / column / hint of the project's errors
    if isinstance(exc, KeyError) and exc.args:
        # str(KeyError("q7")) is "'q7'": say what was not found instead.
        return {"code": "not_found", "message": f"not found: {exc.args[0]}"}
    return {"code": "bad_item", "message": str(exc) or type(exc).__name__}


# ---------------------------------------------------------------------------------------------
# Input reader
# ---------------------------------------------------------------------------------------------

_EOF = object()
_BATCH_LINES = 256
_TEXT_CHARS = 8192  # what the text layer of a file decodes at a time


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _is_regular_file(lines: Iterable[str]) -> bool:
    """Whether `lines` is an open regular file (stdin redirected from one included)."""
    try:
        return stat.S_ISREG(os.fstat(lines.fileno()).st_mode)  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):  # not a file, closed, or io.UnsupportedOperation
        return False


class _LineReader:
    """Reads `lines` on a daemon thread into a small bounded queue.

    A byte on a self-pipe (`fd`) announces new data, so the parent can wait on input and workers
    at once. Lines are passed in batches when the parent is behind (fewer queue operations) and
    one by one when it is waiting (no added latency on a slow stream).

    A regular file never makes the reader wait, so it is read by `take()` itself, without the
    thread, whose hand-overs of the interpreter cost the parent more than the reading: `fd` then
    always reads as ready.
    """

    def __init__(self, lines: Iterable[str], depth: int = 4) -> None:
        self._lines = lines
        self._direct = _is_regular_file(lines)
        # A regular file opened as text can also be read as text (`take_text`). Lines are then
        # split at "\n" alone, as iterating the file does with the default newline mode
        # (universal newlines, translated) and with newline="\n" (sys.stdin on POSIX).
        self.text = self._direct and type(lines) is io.TextIOWrapper
        self._carry = ""  # the start of a line whose end is not read yet
        self._pending_error: Exception | None = None
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.fd, self._wfd = os.pipe()
        os.set_blocking(self.fd, False)
        os.set_blocking(self._wfd, False)
        self._thread = threading.Thread(
            target=self._run, name="mathgrader-batch-reader", daemon=True
        )
        self.exhausted = False
        self.error: BaseException | None = None
        self._closed = False
        if self._direct:
            os.write(self._wfd, b"\0")  # never read: input is always there

    def __enter__(self) -> _LineReader:
        if not self._direct:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        with self._lock:  # the thread must never write to a closed (and maybe reused) fd
            if self._closed:
                return
            self._closed = True
            os.close(self._wfd)
        os.close(self.fd)

    def _run(self) -> None:
        batch: list[str] = []
        try:
            for line in self._lines:
                batch.append(line)
                if len(batch) >= _BATCH_LINES or self._queue.empty():
                    if not self._put(batch):
                        return
                    batch = []
            if batch and not self._put(batch):
                return
            self._put(_EOF)
        except BaseException as exc:  # handed to the parent, which decides what it means
            if not batch or self._put(batch):
                self._put(_Failure(exc))

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
            except queue.Full:
                continue
            with self._lock:
                if not self._closed:
                    try:
                        os.write(self._wfd, b"\0")
                    except BlockingIOError:  # the parent has plenty of wake-ups pending
                        pass
            return True
        return False

    def take(self) -> list[str] | None:
        """The next batch of lines, or None when nothing is available right now."""
        if self.exhausted:
            return None
        if self._direct:
            return self._read()
        try:
            item = self._queue.get_nowait()
        except queue.Empty:
            # Clear the wake-ups before looking again, so none is lost in between.
            try:
                os.read(self.fd, 4096)
            except BlockingIOError:
                pass
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return None
        if item is _EOF:
            self.exhausted = True
            return None
        if isinstance(item, _Failure):
            self.exhausted = True
            self.error = item.exc
            return None
        assert isinstance(item, list)
        return item


    def take_text(self) -> str | None:
        """The next piece of a regular text file (`text`): whole lines, the last of which ends
        in a newline unless it ends the file; None at the end or on a failure (`error`). Like
        iterating the file, it reads and decodes 8 KiB at a time, so a failure loses no more
        lines than iterating would."""
        if self.exhausted:
            return None
        if self._pending_error is not None:
            self.exhausted = True
            self.error, self._pending_error = self._pending_error, None
            return None
        pieces = [self._carry]  # more than one when a line is longer than a piece
        while True:
            try:
                piece = self._lines.read(_TEXT_CHARS)  # type: ignore[attr-defined]
            except Exception as exc:  # handed to the parent, which decides what it means
                self.exhausted = True
                self.error = exc
                return None
            if not piece:
                self.exhausted = True
                self._carry = ""
                return "".join(pieces) or None
            end = piece.rfind("\n") + 1
            if end:
                self._carry = piece[end:]
                pieces.append(piece[:end])
                return "".join(pieces)
            pieces.append(piece)

    def _read(self) -> list[str] | None:
        """The next batch of a regular file; like the thread, it hands over the lines read
        before a failure first, then the failure."""
        if self._pending_error is not None:
            self.exhausted = True
            self.error, self._pending_error = self._pending_error, None
            return None
        batch: list[str] = []
        try:
            # In C, line by line: what was read before a failure stays in `batch`.
            batch.extend(itertools.islice(self._lines, _BATCH_LINES))
        except Exception as exc:  # handed to the parent, which decides what it means
            self._pending_error = exc
            return batch or self._read()
        if not batch:
            self.exhausted = True
            return None
        return batch


# ---------------------------------------------------------------------------------------------
# Progress
# ---------------------------------------------------------------------------------------------


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


@contextmanager
def _progress_bar(show: bool, total: int | None) -> Iterator[Callable[[int], None]]:
    if not show:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        SpinnerColumn(),
        TextColumn("grading"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task("grading", total=total)

        def advance(n: int) -> None:
            bar.advance(task, n)

        yield advance
