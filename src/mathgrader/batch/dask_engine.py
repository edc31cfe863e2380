"""`run_dask`: grade JSON Lines on a Dask distributed cluster, with the local engine's contract.

The client reads the input lazily through fsspec (a local path or any URL fsspec can open), cuts it
into partitions of `partition_lines` lines, and submits each partition to the cluster as one task:
without an answer key, the partition's raw text (`grade_text`), which the worker splits, grades and
answers as one text, so the client's work per line is next to nothing; with a key, the lines the
client resolved, pickled (`grade_packed`). A task's argument and result are each one string or
bytes object, because Dask serializes lists element by element. A bounded window of partitions is
in flight; results are gathered in submission order and written at once, so the output is in input
order and neither the client nor the cluster ever holds the whole file.

Per line, the semantics are the local engine's, because the same helpers do the work: workers grade
through `pool.WorkerPool` as the local engine does (bad JSON, failing or misbehaving grading
functions become error lines), answer keys are resolved in the client exactly as `runner` resolves
them, and lines come out as `pool.result_line` / `pool.error_line` encode them.

Time budget: the same hard budget as the local engine. Dask runs tasks on worker threads, where
SIGALRM cannot reach and from which a line stuck in C code cannot be stopped, so each Dask worker
thread grades its partitions through its own one-process `WorkerPool`, started on its first task
and kept for the life of the Dask worker (references stay compiled there): a line that overruns is
answered `timeout` and its grading process killed and replaced, exactly as locally. Starting that
process needs a non-daemonic Dask worker: the LocalCluster started here is one, and on a real
cluster workers are started with `DASK_DISTRIBUTED__WORKER__DAEMON=False` (see the README). On a
daemonic worker partitions are graded in the worker thread instead: a line that finishes after its
budget is still answered `timeout`, but a line that hangs for good holds its thread. A worker
process that dies (crash, out of memory) is restarted by its nanny and Dask re-runs its tasks; a
partition that keeps killing workers is re-run line by line, and the line that still kills its
worker is answered `error` (code `worker_crashed`).
"""

from __future__ import annotations

import functools
import importlib
import itertools
import logging
import multiprocessing
import pickle
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

# Imported here, not lazily: the CLI turns an ImportError of this module into "install
# mathgrader[cluster]", and nothing else imports it.
import dask
import fsspec
from distributed import Client, KilledWorker, LocalCluster

from .pool import (
    BLOCK_LINES,
    DEFAULT_GRADE_FN,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_TIMEOUT,
    BatchError,
    LinePayload,
    Task,
    WorkerPool,
    decode_line,
    error_line,
    grade_payload,
    ident_of,
    load_grade_fn,
    preload_modules,
    result_line,
    soft_timer,
    split_text,
    text_tasks,
)
from .pool import (
    LinePayload as Payload,
)
from .runner import (
    RESOLVE_ERRORS,
    BatchInputError,
    BatchStats,
    Resolver,
    _progress_bar,
    _resolve_error,
    _stderr_is_terminal,
)

__all__ = ["DEFAULT_PARTITION_LINES", "Graded", "grade_packed", "grade_partition", "grade_text",
           "run_dask"]

DEFAULT_PARTITION_LINES = 1024
"""Lines per task. Dask costs the client and scheduler a few milliseconds of CPU per task on a
small machine, about what 256 repeated answers cost to grade: at 1,024 the long realistic batch
ran 1.4 times as fast as at 256 on one worker, and larger partitions gained nothing more
(`benchmarks/README.md`). A first-time check takes about 0.4 ms, so a partition of them still
holds back the ordered output for well under a second."""

Answer = tuple[str, str]
"""(verdict, output line without its newline)"""


# ---------------------------------------------------------------------------------------------
# Worker side
# ---------------------------------------------------------------------------------------------


@functools.cache
def _grading_function(spec: str) -> Callable[[Any], Any]:
    """Import the grading function once per worker process, warming mathgrader up first.

    Warming (the modules the local engine's fork server preloads) happens outside any line's
    budget, so the first line on a fresh worker is not answered `timeout` for loading SymPy.
    References compile once per process too: `grade_item` uses the process-default checker,
    whose cache lives as long as the worker.
    """
    extra = None
    if spec.startswith("mathgrader."):
        extra = ["mathgrader.checker.equivalence", "mathgrader.batch._warmup_sympy"]
    for module in preload_modules(spec, extra):
        importlib.import_module(module)
    return load_grade_fn(spec)


_threads = threading.local()  # each Dask worker thread's own grading pools


def _pool(grade_fn: str, budget: float, memory_limit: int | None) -> WorkerPool | None:
    """This thread's grading pool for these settings, or None on a daemonic worker."""
    if multiprocessing.current_process().daemon:
        return None  # daemonic processes may not start children
    pools: dict[tuple[str, float, int | None], WorkerPool] | None = getattr(
        _threads, "pools", None)
    if pools is None:
        pools = _threads.pools = {}
    key = (grade_fn, budget, memory_limit)
    pool = pools.get(key)
    if pool is None:
        extra = None
        if grade_fn.startswith("mathgrader."):
            # As the local engine's: SymPy is imported by the lines that need it, outside their
            # budget (`grade_item.prepare`), which keeps a worker's first task a second sooner.
            extra = ["mathgrader.checker.equivalence", "mathgrader.batch._warmup"]
        pool = WorkerPool(grade_fn, workers=1, timeout=budget, preload=extra,
                          memory_limit=memory_limit)
        pool.start()  # its processes are daemonic: they go with this worker process
        pools[key] = pool
    return pool


def grade_partition(payloads: list[Payload], grade_fn: str, budget: float,
                    memory_limit: int | None = DEFAULT_MEMORY_LIMIT) -> list[Answer]:
    """Grade one partition on a Dask worker: one `(verdict, line)` per payload, in order.

    Never raises for a bad line (see `grade_payload`). Lines go through this thread's worker
    pool, so an overrunning line is killed at its budget and each grading process's address
    space is capped at `memory_limit` bytes (see the module docstring); on a daemonic worker
    they are graded in this thread and answered `timeout` only once they return.
    """
    answers: list[Answer] = []
    runs = _graded_runs(list(_tasks(payloads)), grade_fn, budget, memory_limit)[0]
    for verdict, line, count in runs:
        if count == 1 and isinstance(verdict, str):
            answers.append((verdict, line))
        else:  # a block: its verdicts, and its lines joined (JSON lines hold no newline)
            answers.extend(zip(verdict, line.split("\n"), strict=True))
    return answers


def grade_packed(packed: bytes, grade_fn: str, budget: float,
                 memory_limit: int | None = DEFAULT_MEMORY_LIMIT) -> bytes:
    """`grade_partition` for a partition pickled by the client, answering pickled answers.

    The client submits partitions this way when it has resolved answer keys itself. Dask
    serializes a list element by element (its protocol walks lists and tuples, and its task
    specs walk arguments): for a few hundred short lines that cost the Dask worker and the
    client more CPU than the grading did. One bytes object travels as one frame.
    """
    payloads: list[Payload] = pickle.loads(packed)
    answers = grade_partition(payloads, grade_fn, budget, memory_limit)
    return pickle.dumps(answers, protocol=pickle.HIGHEST_PROTOCOL)


@dataclass(slots=True)
class Graded:
    """What a worker answers for a partition of raw text (see `grade_text`)."""

    text: str  # the output lines, each ending in a newline, in input order
    verdicts: dict[str, int]  # how many of each verdict
    lines: int  # non-blank input lines, one output line each
    blank_lines: int
    restarts: int  # grading processes replaced (timeout kills, crashes) on this partition


def grade_text(first_lineno: int, text: str, grade_fn: str, budget: float,
               memory_limit: int | None = DEFAULT_MEMORY_LIMIT) -> bytes:
    """Grade a partition of raw JSON Lines text, numbered from `first_lineno`: a pickled
    `Graded`.

    This is the task the client submits when there is no answer key to resolve: the client
    only cuts the input into runs of lines and writes back the text it gets, so its work per
    line is next to nothing, and the worker sends its grading process blocks of lines whose
    answers come back already joined.
    """
    pool = _pool(grade_fn, budget, memory_limit)
    # The text came from a file read with universal newlines; its blocks go to the grading
    # process as text, which splits and strips them (see `Task`).
    tasks = text_tasks(text, first_lineno, pool.block_lines() if pool else BLOCK_LINES)
    runs, restarts = _graded_runs(tasks, grade_fn, budget, memory_limit)
    verdicts: Counter[str] = Counter()
    out = []
    graded_lines = blank_lines = 0
    for verdict, line, _ in runs:
        if type(verdict) is str:
            verdicts[verdict] += 1
            graded_lines += 1
        else:  # a text block's (lines, {verdict: count}); blank lines under None
            for one, n in verdict[1].items():
                if one is None:
                    blank_lines += n
                else:
                    verdicts[one] += n
                    graded_lines += n
        if line:
            out.append(line)
    out.append("")  # so that the last line ends in a newline too
    graded = Graded("\n".join(out), dict(verdicts), graded_lines, blank_lines, restarts)
    return pickle.dumps(graded, protocol=pickle.HIGHEST_PROTOCOL)


def _graded_runs(tasks: list[Task], grade_fn: str, budget: float,
                 memory_limit: int | None) -> tuple[list[tuple[Any, str, int]], int]:
    """Grade tasks through this thread's pool: `(verdict or verdicts, line or lines joined,
    how many lines)` per task, in order of `seq`, and the grading processes replaced."""
    pool = _pool(grade_fn, budget, memory_limit)
    if pool is None:
        fn = _grading_function(grade_fn)
        runs: list[tuple[Any, str, int]] = []
        with soft_timer():
            for task in sorted(tasks, key=lambda task: task.seq):
                if task.text is not None:
                    counts: dict[str | None, int] = {}
                    lines = []
                    for i, piece in enumerate(split_text(task.text)):
                        piece = piece.strip()
                        if piece:
                            verdict, line = grade_payload(fn, (task.lineno + i, piece, None,
                                                                None), budget)
                            lines.append(line)
                        else:
                            verdict = None
                        counts[verdict] = counts.get(verdict, 0) + 1
                    runs.append(((task.count, counts), "\n".join(lines), task.count))
                    continue
                if task.lines is None:
                    payload: LinePayload = task.payload()  # type: ignore[assignment]
                    runs.append((*grade_payload(fn, payload, budget), 1))
                    continue
                graded = [grade_payload(fn, (task.lineno + i, text, None, None), budget)
                          for i, text in enumerate(task.lines)]
                runs.append(([verdict for verdict, _ in graded],
                             "\n".join(line for _, line in graded), task.count))
        return runs, 0
    restarts = pool.stats.restarts
    done: dict[int, tuple[Any, str, int]] = {}
    left = 0
    for task in tasks:
        pool.submit(task)
        left += task.count
    while left:
        for task, verdict, line in pool.step():
            done[task.seq] = (verdict, line, task.count)
            left -= task.count
    return [done[seq] for seq in sorted(done)], pool.stats.restarts - restarts


def _tasks(payloads: list[Payload]) -> Iterator[Task]:
    """The pool's tasks for a partition, numbered by position: runs of raw lines with
    consecutive line numbers go as blocks (see `Task`), as the local engine sends them."""
    start = 0
    while start < len(payloads):
        lineno, raw, ident, item = payloads[start]
        end = start + 1
        if raw is not None and item is None:
            while (end < len(payloads) and end - start < BLOCK_LINES
                   and payloads[end][1] is not None and payloads[end][3] is None
                   and payloads[end][0] == lineno + end - start):
                end += 1
        if end - start == 1:
            yield Task(start, lineno, raw, ident, item, nbytes=len(raw or ""))
        else:
            lines = [text for _, text, _, _ in payloads[start:end] if text is not None]
            yield Task(start, lineno, None, nbytes=sum(map(len, lines)), lines=lines)
        start = end


# ---------------------------------------------------------------------------------------------
# Client side
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Partition:
    """Lines of one task.

    Without an answer key, `text` holds the raw input lines from line `first_lineno` on, as
    read, and the worker does the rest (`grade_text`). With a key, the client resolves each
    line: `answers[i]` is None until line i is graded, and `payloads` are the lines still to
    grade, in order, matching the None slots (`grade_packed`).
    """

    first_lineno: int = 0
    text: str | None = None
    answers: list[Answer | None] = field(default_factory=list)
    payloads: list[Payload] = field(default_factory=list)

    def fill(self, graded: list[Answer]) -> Graded:
        it = iter(graded)
        answers = [answer if answer is not None else next(it) for answer in self.answers]
        return _as_graded(answers)


def _as_graded(answers: list[Answer]) -> Graded:
    verdicts = Counter(verdict for verdict, _ in answers)
    return Graded("".join(line + "\n" for _, line in answers), dict(verdicts), len(answers),
                  0, 0)


def _payload_id(payload: Payload) -> Any:
    _, raw, ident, _ = payload
    return ident_of(raw) if raw is not None else ident


class _Partitioner:
    """Cuts the input lines into partitions, resolving answer keys in the client.

    Resolving here rather than on the workers means the resolver (a closure over a loaded key)
    never has to be pickled, and rejected lines are answered without a round trip, exactly as
    the local engine's runner answers them. Without a key, a partition is the raw text of its
    lines: the client neither strips nor decodes them.
    """

    def __init__(self, lines: IO[str], resolve: Resolver | None, size: int) -> None:
        self.lines = lines
        self.resolve = resolve
        self.size = size
        self.lineno = 0
        self.blank_lines = 0  # counted here with a key; the workers count them without
        self.error: Exception | None = None

    def __iter__(self) -> Iterator[_Partition]:
        if self.resolve is None:
            yield from self._raw()
            return
        part = _Partition()
        try:
            for text in self.lines:
                self.lineno += 1
                text = text.strip()
                if not text:
                    self.blank_lines += 1
                    continue
                self._add(part, text)
                if len(part.answers) >= self.size:
                    yield part
                    part = _Partition()
        except OSError as exc:  # reported after the lines read so far are answered
            self.error = exc
        if part.answers:
            yield part

    def _raw(self) -> Iterator[_Partition]:
        while True:
            chunk: list[str] = []
            try:
                chunk.extend(itertools.islice(self.lines, self.size))
            except OSError as exc:  # the lines read before the failure still go
                self.error = exc
            if chunk:
                yield _Partition(self.lineno + 1, "".join(chunk))
                self.lineno += len(chunk)
            if len(chunk) < self.size or self.error is not None:
                return

    def _add(self, part: _Partition, text: str) -> None:
        assert self.resolve is not None
        start = time.perf_counter()
        ident, item, problem = decode_line(text, self.lineno)
        if problem is not None:
            seconds = time.perf_counter() - start
            part.answers.append(("error", error_line(ident, "bad_json", problem, seconds)))
            return
        try:
            resolved = self.resolve(item)
        except RESOLVE_ERRORS as exc:
            error = _resolve_error(exc)
            seconds = time.perf_counter() - start
            line = result_line(ident, "error", 0.0, error["message"], error, seconds)
            part.answers.append(("error", line))
            return
        part.answers.append(None)
        part.payloads.append((self.lineno, None, ident, resolved))


@contextmanager
def _client(scheduler: str | None, workers: int, connect_timeout: float) -> Iterator[Any]:
    """A client of the scheduler at `scheduler`, or of a fresh LocalCluster of `workers`."""
    if scheduler is None:
        # One thread per worker: grading is CPU-bound Python, so processes give the parallelism.
        # Non-daemonic workers may start the grading process that enforces the hard budget.
        with dask.config.set({"distributed.worker.daemon": False}):
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
        with cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(scheduler, timeout=connect_timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        # OSError/TimeoutError: nobody answers; ValueError: not an address Dask understands.
        raise BatchError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
    with client:
        yield client


def _open(url: str, mode: str, storage_options: Mapping[str, Any] | None) -> Any:
    kwargs = dict(storage_options or {})
    encoding = "utf-8"
    if "r" in mode:
        # As the local CLI reads: a byte-order mark before line 1 is skipped, and a byte that is
        # not UTF-8 makes its line an error of its own (`pool.decode_line`).
        encoding, kwargs["errors"] = "utf-8-sig", "surrogateescape"
    return fsspec.open(url, mode, encoding=encoding, **kwargs)


def run_dask(
    input_url: str,
    output: str | IO[str],
    *,
    scheduler: str | None = None,
    workers: int = 2,
    timeout: float = DEFAULT_TIMEOUT,
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
    resolve: Resolver | None = None,
    grade_fn: str = DEFAULT_GRADE_FN,
    partition_lines: int = DEFAULT_PARTITION_LINES,
    max_in_flight: int | None = None,
    connect_timeout: float = 10.0,
    progress: bool | None = False,
    storage_options: Mapping[str, Any] | None = None,
) -> BatchStats:
    """Grade the JSON Lines at `input_url` on a Dask cluster and write results to `output`.

    `input_url` and `output` (a URL, or an open text stream) are anything fsspec opens: a local
    path, `s3://...`, `gs://...` (with that backend installed). `scheduler` is a scheduler
    address (`tcp://host:8786`); without one a LocalCluster of `workers` processes is started
    and stopped. Output follows the local engine's contract: one line per non-blank input line,
    in input order, errors as lines. At most `max_in_flight` partitions (default four per
    worker) are submitted and not yet written. See the module docstring for how the per-line
    `timeout` and the `memory_limit` (bytes per grading process, None for none) are enforced.

    Raises `BatchError` when the run cannot start (unreachable scheduler, unreadable input,
    bad settings) and `BatchInputError` when reading fails part-way, after answering what
    was read.
    """
    if partition_lines < 1 or workers < 1 or (max_in_flight is not None and max_in_flight < 1):
        raise BatchError("partition_lines, workers and max_in_flight must be at least 1")
    if not timeout > 0:
        raise BatchError("the timeout must be a positive number of seconds")
    load_grade_fn(grade_fn)  # fail here, with a clear message, rather than on every worker
    started = time.perf_counter()
    show = progress if progress is not None else _stderr_is_terminal()
    with ExitStack() as stack:
        try:
            source = stack.enter_context(_open(input_url, "rt", storage_options))
        except OSError as exc:
            raise BatchError(f"cannot read {input_url}: {exc}") from exc
        client = stack.enter_context(_client(scheduler, workers, connect_timeout))
        n_workers = len(client.scheduler_info().get("workers", {})) or workers
        if isinstance(output, str):
            try:
                sink = stack.enter_context(_open(output, "wt", storage_options))
            except OSError as exc:
                raise BatchError(f"cannot write {output}: {exc}") from exc
        else:
            sink = output
        partitions = _Partitioner(source, resolve, partition_lines)
        stats = BatchStats(workers=n_workers)
        advance = stack.enter_context(_progress_bar(show, None))
        window = max_in_flight or 4 * n_workers
        for graded in _graded(client, partitions, grade_fn, timeout, memory_limit, window,
                              stats):
            sink.write(graded.text)
            for verdict, count in graded.verdicts.items():
                stats.verdicts[verdict] = stats.verdicts.get(verdict, 0) + count
            stats.lines += graded.lines
            stats.blank_lines += graded.blank_lines
            stats.worker_restarts += graded.restarts
            advance(graded.lines)
        stats.blank_lines += partitions.blank_lines
    stats.seconds = time.perf_counter() - started
    if partitions.error is not None:
        raise BatchInputError(
            f"could not read the input: {partitions.error}", stats
        ) from partitions.error
    return stats


def _graded(
    client: Any,
    partitions: _Partitioner,
    grade_fn: str,
    budget: float,
    memory_limit: int | None,
    window: int,
    stats: BatchStats,
) -> Iterator[Graded]:
    """Yield each partition's results in input order, keeping `window` partitions in flight."""
    settings = (grade_fn, budget, memory_limit)

    def submit(part: _Partition) -> Any:
        # pure=False: two identical partitions are two pieces of work, not one cached result.
        if part.text is not None:
            return client.submit(grade_text, part.first_lineno, part.text, *settings,
                                 pure=False)
        if not part.payloads:
            return None  # every line was answered in the client
        packed = pickle.dumps(part.payloads, protocol=pickle.HIGHEST_PROTOCOL)
        return client.submit(grade_packed, packed, *settings, pure=False)

    in_flight: deque[tuple[_Partition, Any]] = deque()
    source = iter(partitions)
    exhausted = False
    while True:
        while not exhausted and len(in_flight) < window:
            part = next(source, None)
            if part is None:
                exhausted = True
                break
            in_flight.append((part, submit(part)))
        if not in_flight:
            return
        part, future = in_flight.popleft()
        if future is None:
            yield part.fill([])
            continue
        try:
            result = pickle.loads(future.result())
        except KilledWorker:
            result = None
        finally:
            future.release()  # the result leaves the cluster's memory as soon as it is read
        if result is None:
            # Dask gave up after the partition killed several workers: find the culprit by
            # re-running its lines one per task, so the others still get their answers.
            stats.worker_restarts += 1
            yield _one_by_one(submit, part)
        else:
            yield result if part.text is not None else part.fill(result)


def _one_by_one(submit: Callable[[_Partition], Any], part: _Partition) -> Graded:
    """Grade the lines of a partition that killed its workers one per task; a line that does
    it again is answered `error`."""
    if part.text is None:
        return part.fill([_one(submit, _Partition(payloads=[payload]), _payload_id(payload))
                          for payload in part.payloads])
    answers: list[Answer] = []
    lines = part.text.split("\n")
    if lines and not lines[-1]:
        lines.pop()
    for i, line in enumerate(lines):
        if line.strip():
            one = _Partition(part.first_lineno + i, line + "\n")
            answers.append(_one(submit, one, ident_of(line.strip())))
    graded = _as_graded(answers)
    graded.blank_lines = len(lines) - len(answers)
    return graded


def _one(submit: Callable[[_Partition], Any], part: _Partition, ident: Any) -> Answer:
    """The answer to a partition of one line, or `error` if it kills its worker again."""
    start = time.perf_counter()
    future = submit(part)
    try:
        result = pickle.loads(future.result())
        if isinstance(result, Graded):
            verdict = next(iter(result.verdicts))
            return verdict, result.text.rstrip("\n")
        answer: Answer = result[0]
        return answer
    except KilledWorker:
        message = "the grading process died several times while checking this line"
        seconds = time.perf_counter() - start
        return "error", error_line(ident, "worker_crashed", message, seconds)
    finally:
        future.release()
