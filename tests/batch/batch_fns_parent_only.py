"""A grading module that imports in the test process but fails inside a worker process."""

from __future__ import annotations

import multiprocessing
from typing import Any

if multiprocessing.parent_process() is not None:
    raise ImportError("this module refuses to load in a worker")


def grade(item: Any) -> dict[str, Any]:
    return {"verdict": "correct", "score": 1.0}
