"""Batch grading: JSON Lines in, JSON Lines out, every check under a hard time budget.

`run_batch` streams submissions through worker processes (`WorkerPool`) and writes one result
line per input line, in input order; the CLI's `grade-batch` command is a thin shell around it.
"""

from __future__ import annotations

from .pool import DEFAULT_GRADE_FN, DEFAULT_TIMEOUT, BatchError, PoolStats, WorkerPool
from .runner import RESOLVE_ERRORS, BatchInputError, BatchStats, Resolver, run_batch

__all__ = [
    "DEFAULT_GRADE_FN",
    "DEFAULT_TIMEOUT",
    "RESOLVE_ERRORS",
    "BatchError",
    "BatchInputError",
    "BatchStats",
    "PoolStats",
    "Resolver",
    "WorkerPool",
    "run_batch",
]
