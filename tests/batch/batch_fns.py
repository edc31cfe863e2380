"""Grading functions for the batch tests, imported by name inside worker processes.

`scripted` does what the item's "do" field says, so one importable function covers every
misbehaviour a real checker might show: slow lines, hangs in Python and in C, crashes, raised
exceptions and unusable results. The conftest puts this folder on `sys.path`, which spawned and
forkserver workers inherit, so `"batch_fns:scripted"` imports in them too.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path
from typing import Any

NOT_CALLABLE = 42


def _grade(item: dict[str, Any]) -> dict[str, Any]:
    right = item.get("answer") == item.get("reference")
    return {
        "verdict": "correct" if right else "incorrect",
        "score": 1.0 if right else 0.0,
        "feedback": None,
        "error": None,
    }


def scripted(item: dict[str, Any]) -> dict[str, Any]:
    action = item.get("do")
    if action == "sleep":
        time.sleep(float(item["seconds"]))
    elif action == "hang":  # pure Python: the worker's soft timer interrupts it
        time.sleep(60)
    elif action == "bigint":  # the example; CPython checks signals inside big pow
        _ = 10 ** (10**9)
    elif action == "c_loop":  # OpenSSL loop with the GIL released: no signal is ever handled
        hashlib.pbkdf2_hmac("sha256", b"x", b"salt", 10**9)
    elif action == "masked":  # like C code that never returns to the interpreter
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(60)
    elif action == "swallow":  # grading code that catches everything, even the soft timeout
        try:
            time.sleep(60)
        except BaseException:
            time.sleep(60)
    elif action == "exit":
        os._exit(1)
    elif action == "exit_once":  # crashes the first worker only
        marker = Path(item["marker"])
        if not marker.exists():
            marker.touch()
            os._exit(3)
    elif action == "raise":
        raise RuntimeError("boom")
    elif action == "bad_verdict":
        return {"verdict": "maybe", "score": 0.5}
    elif action == "not_json":
        return {**_grade(item), "extra": object()}
    elif action == "pid":
        return {**_grade(item), "feedback": str(os.getpid())}
    return _grade(item)


class Graded:
    """A grade object with `to_dict()`, like `mathgrader.checker.grade.Grade`."""

    def __init__(self, verdict: str, score: float) -> None:
        self.verdict, self.score = verdict, score

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "score": self.score, "feedback": None, "error": None}


def with_to_dict(item: dict[str, Any]) -> Graded:
    return Graded("correct", 1.0)


def prepared(item: dict[str, Any]) -> dict[str, Any]:
    """Like `scripted`, with a `prepare` that sleeps for the item's "prepare" seconds."""
    return scripted(item)


def _prepare(item: dict[str, Any]) -> None:
    time.sleep(float(item.get("prepare", 0)))


prepared.prepare = _prepare  # type: ignore[attr-defined]


def gc_state(item: dict[str, Any]) -> dict[str, Any]:
    """The worker's garbage collector: objects frozen, and the young generation's threshold."""
    import gc

    state = f"{gc.get_freeze_count()} {gc.get_threshold()[0]}"
    return {"verdict": "correct", "score": 1.0, "feedback": state, "error": None}


_peers: Any = None  # what the pool handed `sharing.share` in this worker


def sharing(item: dict[str, Any]) -> dict[str, Any]:
    """Publishes under the item's "publish" key (this worker's pid), or waits up to 10 s for
    what another worker published under its "wait_for" key; says which, or "no peers"."""
    if _peers is None:
        feedback = "no peers"
    elif "publish" in item:
        _peers.publish(item["publish"].encode(), str(os.getpid()).encode())
        feedback = f"published {os.getpid()}"
    else:
        key = item["wait_for"].encode()
        found = None
        for _ in range(1000):
            if (found := _peers.lookup(key)) is not None:
                break
            time.sleep(0.01)
        feedback = f"found {found.decode() if found else None} in {os.getpid()}"
    return {"verdict": "correct", "score": 1.0, "feedback": feedback, "error": None}


def _share(peers: Any) -> None:
    global _peers
    _peers = peers


sharing.share = _share  # type: ignore[attr-defined]
