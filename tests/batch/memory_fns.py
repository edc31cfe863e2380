"""Grading functions for the memory-limit tests, imported by name inside worker processes.

`grade` does what the item's "do" field says. Large allocations use `bytes(n)`, which asks the
allocator for zeroed memory: a fresh mapping that is never touched, so even without a limit the
test costs address space, not RAM.
"""

from __future__ import annotations

import os
import resource
import signal
from typing import Any

MB = 2**20
CHUNK = 16 * MB

_hoard: list[bytes] = []  # what "hoard" keeps for the rest of the worker's life


def grade(item: dict[str, Any]) -> dict[str, Any]:
    action = item.get("do")
    feedback = None
    if action == "allocate":  # one allocation far beyond the limit; freed when it fails
        data = bytes(int(item["mb"]) * MB)
        feedback = str(len(data))
    elif action == "hoard":  # a leak: keeps what it took, so the worker cannot recover
        while True:
            _hoard.append(bytes(CHUNK))
    elif action == "limit":  # the address-space limit this worker runs under
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        feedback = "none" if soft == resource.RLIM_INFINITY else str(soft)
    elif action == "oom_killed":  # what the kernel's OOM killer does
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "pid":
        feedback = str(os.getpid())
    right = item.get("answer") == item.get("reference")
    return {
        "verdict": "correct" if right else "incorrect",
        "score": 1.0 if right else 0.0,
        "feedback": feedback,
        "error": None,
    }
