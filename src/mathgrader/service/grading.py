"""Grading off the event loop: the batch engine's worker pool, driven by one dispatcher thread.

Requests `await GradingPool.grade(item)`; the dispatcher thread owns the `WorkerPool` (so no lock
is needed around it), feeds it new items when woken through a pipe, enforces every check's time
budget by killing and replacing overrunning workers, and hands results back to the event loop.
One hostile answer therefore costs one worker for at most its budget, never the server.

A request waits at most its own `timeout` (`GradingTimeout`), however deep the queue; checks whose
request has stopped waiting are dropped before they reach a worker, so an overload does not keep
the workers busy with answers nobody will read. `close()` lets checks in flight finish first.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..batch.pool import DEFAULT_CHUNK_SIZE, DEFAULT_GRADE_FN, Task, WorkerPool

__all__ = ["GradingPool", "GradingTimeout", "PoolClosed"]

logger = logging.getLogger("mathgrader.service")


class PoolClosed(RuntimeError):
    """The pool is closed (or its dispatcher stopped): no check can run."""


class GradingTimeout(TimeoutError):
    """The request's time limit passed before its check finished."""


@dataclass(slots=True)
class _Waiter:
    future: asyncio.Future[dict[str, Any]]
    loop: asyncio.AbstractEventLoop


class GradingPool:
    def __init__(self, *, workers: int = 2, timeout: float = 2.0,
                 preload: Sequence[str] = ("mathgrader.batch._warmup_sympy",),
                 grade_fn: str = DEFAULT_GRADE_FN, request_timeout: float | None = None) -> None:
        self.timeout = timeout
        self.request_timeout = request_timeout  # grade()'s default time limit (None: none)
        # Every answer is sent back as soon as it is checked: a request waits for its own.
        self._pool = WorkerPool(grade_fn, workers=workers, timeout=timeout,
                                preload=list(preload), result_delay=0.0)
        # Checks handed to the WorkerPool at most: enough for a full chunk on every worker and
        # one queued behind it, few enough that the rest can still be dropped when expired.
        self._window = 2 * DEFAULT_CHUNK_SIZE * workers
        self._inbox: queue.SimpleQueue[tuple[Task, _Waiter] | None] = queue.SimpleQueue()
        self._held: deque[tuple[Task, _Waiter]] = deque()  # dispatcher thread only
        self._waiting: dict[int, _Waiter] = {}
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        self._seq = 0
        self._lock = threading.Lock()  # guards _seq and _in_flight
        self._in_flight = 0  # grade() calls not yet returned
        self.expired = 0  # checks dropped unstarted: their request had stopped waiting
        self._closing = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="mathgrader-grading", daemon=True)

    def start(self) -> None:
        self._pool.start()
        self._thread.start()

    async def grade(self, item: dict[str, Any], *,
                    timeout: float | None = None) -> dict[str, Any]:
        """The result record of one grading item (`verdict`, `score`, `feedback`, `error`).

        Raises `GradingTimeout` after `timeout` seconds (default: the pool's
        `request_timeout`), `PoolClosed` when no check can run.
        """
        timeout = self.request_timeout if timeout is None else timeout
        if self._closing:
            raise PoolClosed("the grader is shutting down")
        if not self._thread.is_alive():  # it would never read the inbox: do not wait on it
            raise PoolClosed("the grader has stopped (see the server log)")
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop.create_future(), loop)
        with self._lock:
            self._seq += 1
            seq = self._seq
            self._in_flight += 1
        timer = (loop.call_later(timeout, _expire, waiter.future, timeout)
                 if timeout is not None else None)
        try:
            self._inbox.put((Task(seq, seq, None, ident=None, item=item), waiter))
            os.write(self._wake_write, b"\0")
            return await waiter.future
        finally:
            if timer is not None:
                timer.cancel()
            with self._lock:
                self._in_flight -= 1

    @property
    def in_flight(self) -> int:
        """Checks requested and not answered yet: queued, waiting for a worker, or running."""
        return self._in_flight

    def admits(self, count: int, limit: int) -> bool:
        """Whether `count` more checks fit under `limit` in flight. An idle pool takes any
        number, so one request larger than the limit is not refused for ever."""
        in_flight = self._in_flight
        return in_flight == 0 or in_flight + count <= limit

    @property
    def stats(self) -> dict[str, int]:
        stats = self._pool.stats
        return {"workers_started": stats.started, "killed": stats.killed,
                "crashed": stats.crashed, "in_flight": self._in_flight,
                "expired": self.expired}

    def close(self, timeout: float = 0.0) -> None:
        """Stop taking work, let checks in flight finish for up to `timeout` seconds, then fail
        what still waits and stop the workers."""
        if self._closed:
            return
        self._closing = True
        deadline = time.monotonic() + timeout
        while (self._thread.is_alive() and time.monotonic() < deadline
               and self._someone_waits()):
            time.sleep(0.02)
        self._closed = True
        self._inbox.put(None)
        os.write(self._wake_write, b"\0")
        self._thread.join(timeout=5)
        self._pool.close(kill=True)
        for fd in (self._wake_read, self._wake_write):
            os.close(fd)

    def _someone_waits(self) -> bool:
        """Whether a request still waits for a check (not one whose time limit has passed)."""
        # The dispatcher runs meanwhile: list() copies its containers in one step (GIL).
        entries = list(self._waiting.values()) + [waiter for _, waiter in list(self._held)]
        return not self._inbox.empty() or not all(w.future.done() for w in entries)

    # -- the dispatcher thread ----------------------------------------------------------------

    @property
    def alive(self) -> bool:
        """False once the dispatcher has stopped (closed, or its workers cannot start)."""
        return self._thread.is_alive() and not self._closing

    def _run(self) -> None:
        try:
            while True:
                if not self._take_inbox():
                    break
                self._feed()
                for task, _verdict, line in self._pool.step(timeout=None, wake=self._wake_read):
                    waiter = self._waiting.pop(task.seq, None)
                    if waiter is not None:
                        waiter.loop.call_soon_threadsafe(_resolve, waiter.future, line)
        except Exception:
            # Workers that cannot start (a broken install) stop grading; health says so.
            logger.exception("the grading pool stopped")
        finally:
            for _task, waiter in self._held:
                waiter.loop.call_soon_threadsafe(_fail, waiter.future)
            self._held.clear()
            for waiter in self._waiting.values():
                waiter.loop.call_soon_threadsafe(_fail, waiter.future)
            self._waiting.clear()

    def _take_inbox(self) -> bool:
        try:
            while os.read(self._wake_read, 4096):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                entry = self._inbox.get_nowait()
            except queue.Empty:
                return True
            if entry is None:
                return False
            self._held.append(entry)

    def _feed(self) -> None:
        """Move held checks to the WorkerPool up to the window, dropping expired ones."""
        while self._held and self._pool.pending < self._window:
            task, waiter = self._held.popleft()
            # Read across threads: at worst an expiring check is graded for nothing.
            if waiter.future.done():
                self.expired += 1
                continue
            self._waiting[task.seq] = waiter
            self._pool.submit(task)


def _resolve(future: asyncio.Future[dict[str, Any]], line: str) -> None:
    if not future.done():
        future.set_result(json.loads(line))


def _fail(future: asyncio.Future[dict[str, Any]]) -> None:
    if not future.done():
        future.set_exception(PoolClosed("the grader stopped before this answer was checked"))


def _expire(future: asyncio.Future[dict[str, Any]], timeout: float) -> None:
    if not future.done():
        future.set_exception(GradingTimeout(f"not checked within {timeout:g} s"))
