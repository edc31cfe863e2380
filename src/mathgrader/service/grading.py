"""Grading off the event loop: the batch engine's worker pool, driven by one dispatcher thread.

Requests `await GradingPool.grade(item)`; the dispatcher thread owns the `WorkerPool` (so no lock
is needed around it), feeds it new items when woken through a pipe, enforces every check's time
budget by killing and replacing overrunning workers, and hands results back to the event loop.
One hostile answer therefore costs one worker for at most its budget, never the server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..batch.pool import DEFAULT_GRADE_FN, Task, WorkerPool

__all__ = ["GradingPool", "PoolClosed"]

logger = logging.getLogger("mathgrader.service")


class PoolClosed(RuntimeError):
    """The pool was closed while a request waited for it."""


@dataclass(slots=True)
class _Waiter:
    future: asyncio.Future[dict[str, Any]]
    loop: asyncio.AbstractEventLoop


class GradingPool:
    def __init__(self, *, workers: int = 2, timeout: float = 2.0,
                 preload: Sequence[str] = ("mathgrader.batch._warmup",)) -> None:
        self.timeout = timeout
        self._pool = WorkerPool(DEFAULT_GRADE_FN, workers=workers, timeout=timeout,
                                preload=list(preload))
        self._inbox: queue.SimpleQueue[tuple[Task, _Waiter] | None] = queue.SimpleQueue()
        self._waiting: dict[int, _Waiter] = {}
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        self._seq = 0
        self._seq_lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="mathgrader-grading", daemon=True)

    def start(self) -> None:
        self._pool.start()
        self._thread.start()

    async def grade(self, item: dict[str, Any]) -> dict[str, Any]:
        """The result record of one grading item (`verdict`, `score`, `feedback`, `error`)."""
        if self._closed:
            raise PoolClosed("the grading pool is closed")
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop.create_future(), loop)
        with self._seq_lock:
            self._seq += 1
            seq = self._seq
        self._inbox.put((Task(seq, seq, None, ident=None, item=item), waiter))
        os.write(self._wake_write, b"\0")
        return await waiter.future

    @property
    def stats(self) -> dict[str, int]:
        stats = self._pool.stats
        return {"workers_started": stats.started, "killed": stats.killed,
                "crashed": stats.crashed}

    def close(self) -> None:
        """Stop taking work, fail what still waits, and stop the workers."""
        if self._closed:
            return
        self._closed = True
        self._inbox.put(None)
        os.write(self._wake_write, b"\0")
        self._thread.join(timeout=5)
        self._pool.close(kill=True)
        for fd in (self._wake_read, self._wake_write):
            os.close(fd)

    # -- the dispatcher thread ----------------------------------------------------------------

    @property
    def alive(self) -> bool:
        """False once the dispatcher has stopped (closed, or its workers cannot start)."""
        return self._thread.is_alive() and not self._closed

    def _run(self) -> None:
        try:
            while True:
                if not self._take_inbox():
                    break
                for task, _verdict, line in self._pool.step(timeout=None, wake=self._wake_read):
                    waiter = self._waiting.pop(task.seq, None)
                    if waiter is not None:
                        waiter.loop.call_soon_threadsafe(_resolve, waiter.future, line)
        except Exception:
            # Workers that cannot start (a broken install) stop grading; health says so.
            logger.exception("the grading pool stopped")
        finally:
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
            task, waiter = entry
            self._waiting[task.seq] = waiter
            self._pool.submit(task)


def _resolve(future: asyncio.Future[dict[str, Any]], line: str) -> None:
    if not future.done():
        future.set_result(json.loads(line))


def _fail(future: asyncio.Future[dict[str, Any]]) -> None:
    if not future.done():
        future.set_exception(PoolClosed("the grading pool closed"))
