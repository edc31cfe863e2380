"""Helpers for the fault and hostile-HTTP tests of the service.

`sleepy` is a grading function the pool's worker processes import by name
(`"service_helpers:sleepy"`): the test modules put this folder on `sys.path`, which workers and a
served subprocess (through PYTHONPATH) inherit. `live_server` runs `mathgrader serve` itself.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mathgrader.checker.grade import grade_item

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parents[1] / "examples"
SLEEPY = "service_helpers:sleepy"
_SLEEP = re.compile(r"sleep (\d+(?:\.\d+)?)(?: .*)?")


def sleepy(item: dict[str, Any]) -> Any:
    """Grades like mathgrader, except that an answer `sleep SECONDS [anything]` sleeps that long
    and is then `incorrect` (the tail makes answers distinct, past the service's verdict cache).
    """
    match = _SLEEP.fullmatch(str(item.get("answer", "")))
    if match is None:
        return grade_item(item)
    time.sleep(float(match[1]))
    return {"verdict": "incorrect", "score": 0.0, "feedback": None, "error": None}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    url: str
    database_url: str
    spool: Path
    log: Path

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=30) as response:
            return json.load(response)

    def in_flight(self) -> int:
        return int(self.get("/api/v1/health")["detail"]["in_flight"])


@contextmanager
def live_server(tmp: Path, *, grade_fn: str | None = None,
                env: dict[str, str] | None = None) -> Iterator[Server]:
    """`mathgrader serve` on a free port with one grading worker, the example keys and a SQLite
    log under `tmp`; stopped (SIGTERM) on the way out if the test has not stopped it."""
    port = free_port()
    var = tmp / "var"
    database_url = f"sqlite:///{tmp}/log.db"
    variables = {**os.environ, "MATHGRADER_VAR_DIR": str(var),
                 "MATHGRADER_DATABASE_URL": database_url,
                 "PYTHONPATH": os.pathsep.join(
                     p for p in (str(HERE), os.environ.get("PYTHONPATH")) if p),
                 **(env or {})}
    if grade_fn is not None:
        variables["MATHGRADER_GRADE_FN"] = grade_fn
    log = tmp / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "mathgrader.cli", "serve", "--port", str(port),
             "--workers", "1", "--keys", str(EXAMPLES)],
            env=variables, stdout=sink, stderr=subprocess.STDOUT)
    server = Server(process, port, f"http://127.0.0.1:{port}", database_url, var / "spool", log)
    try:
        for _ in range(300):
            try:
                server.get("/api/v1/health")
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"the server did not start:\n{log.read_text()}") from None
                time.sleep(0.1)
        else:
            raise RuntimeError(f"the server did not answer within 30 s:\n{log.read_text()}")
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
