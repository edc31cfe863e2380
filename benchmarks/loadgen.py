"""A cheap HTTP/1.1 load generator for loopback benchmarks, and the service under test.

On a 2-core machine the client and the server share the cores, so the client must cost as
little as possible per request: every request is pre-built bytes sent on a keep-alive
connection (an `asyncio.Protocol`, on uvloop when installed), and a response is framed by its
`Content-Length` alone (the status line is read, the body kept as bytes; a grade's verdict is
found with one `bytes.find`). No HTTP library, no JSON decoding of responses.

Two ways to drive the server:

- `closed_loop(addr, source, concurrency, seconds)`: `concurrency` connections, each sends its
  next request as soon as the previous answer arrives (the rate is what the server gives);
- `open_loop(addr, source, rate, seconds)`: requests are due at a fixed rate whatever the
  server does; a request waits for a free connection when all are busy, and its latency counts
  from when it was due (no coordinated omission: a stalled server shows as latency).

Both return a `Tally` (per request: label, due/finish time, latency, status). Status 0 is a
transport error (connection refused or closed under a request) and -1 a request that got no
answer within `timeout`; both count as *dropped* (sent, never answered), and with non-200
statuses as errors. `summary(tally)` gives requests/s, percentiles, errors, 5xx and drops.

Sources (`Mix`) build the request mix from the bundled example keys (`/api/v1/grade`) and from
`workload.py` (`/api/v1/check`): answers drawn with Zipf weights so most are repeats, a share
of them made unique (different spacing, as learners type), previews of the same texts, and
`GET /api/v1/health` as the baseline. The server helpers start `mathgrader serve` on a free
port in its own process group and read its process tree's CPU time and memory from /proc.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import os
import random
import shlex
import signal
import socket
import subprocess
import sys
import time
import tomllib
from array import array
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from workload import batch_items

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MATHGRADER = str(Path(sys.executable).parent / "mathgrader")

DROPPED_TIMEOUT = -1  # status of a request that got no answer in time
TRANSPORT_ERROR = 0  # status of a request whose connection failed or closed under it
# A connection idle for longer is closed rather than reused: the server closes idle ones
# (uvicorn after 5 s), and a request sent just as it does would be lost in the race.
IDLE_LIMIT = 2.0

T = TypeVar("T")

# ---------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------


def http_request(method: str, path: str, body: Any = None, host: str = "127.0.0.1") -> bytes:
    """The bytes of one HTTP/1.1 request (keep-alive is HTTP/1.1's default)."""
    head = f"{method} {path} HTTP/1.1\r\nhost: {host}\r\n"
    if body is None:
        return (head + "\r\n").encode()
    data = json.dumps(body, separators=(",", ":")).encode()
    return (head + f"content-type: application/json\r\ncontent-length: {len(data)}\r\n\r\n"
            ).encode() + data


Source = Callable[[], tuple[int, bytes]]
"""The next request to send: (label index, request bytes)."""

# What learners type that the syntax rejects.
INVALID = ["3x(", "sin x", "x^^2", "(x + 1", "2*x)", "cos^2(x)", "x +", "", "1/(2sqrt(x))"]


def key_pairs(seed: int) -> list[dict[str, str]]:
    """(question, answer) pairs from the example keys: accepted, rejected and unreadable, with
    the accepted answers first (the common ones)."""
    pairs = []
    for path in sorted((ROOT / "examples").glob("*.toml")):
        key = tomllib.loads(path.read_text())
        quiz = key["quiz"]["id"]
        for q in key.get("questions", []):
            qid = f"{quiz}/{q['id']}"
            rng = random.Random(f"{seed}/{qid}")
            answers = [*q.get("accept", []), *q.get("reject", []), *rng.sample(INVALID, 2)]
            pairs += [{"question": qid, "answer": a} for a in answers]
    return pairs


def spaced(answer: str, n: int) -> str:
    """The n-th respelling of `answer` with different spacing (n >= 1): leading and trailing
    spaces only, so the meaning never changes (spaces inside a name or number would)."""
    return " " * (n % 40) + answer + " " * (n // 40 + 1)


class Mix:
    """A deterministic stream of requests: a label per kind, Zipf-weighted repeats and a share
    of first-time answers.

    `kinds` maps a label to a weight; the labels are `grade` (example-key questions over
    `/api/v1/grade`), `check` (`workload.py`'s quiz batch over `/api/v1/check`), `preview` (the
    same answer texts over `/api/v1/preview`) and `health`. `unique` is the share of grade,
    check and preview requests whose text was never sent before. Mixes that drive the same
    server must share `respellings` (how often each answer text was respelt), or one would
    resend the texts another made new, and the server would answer them from its caches.
    """

    LABELS = ("grade", "check", "preview", "health")

    def __init__(self, kinds: dict[str, float], *, unique: float = 0.1, seed: int = 20261126,
                 host: str = "127.0.0.1", zipf: float = 1.1,
                 respellings: Counter[str] | None = None) -> None:
        unknown = set(kinds) - set(self.LABELS)
        if unknown:
            raise ValueError(f"unknown request kinds {sorted(unknown)}: use {self.LABELS}")
        self.kinds = {k: w for k, w in kinds.items() if w > 0}
        self.unique = unique
        self.host = host
        self._rng = random.Random(seed)
        labels = list(self.kinds)
        self._labels = [self.LABELS.index(k) for k in labels]
        self._kind_cum = _cumulative([self.kinds[k] for k in labels])
        self._grade = key_pairs(seed)
        self._check = [{"reference": i["reference"], "answer": i["answer"],
                        "options": i["options"]} for i in _dedupe(batch_items(seed))]
        # Popular answers first: each list's order is shuffled once, then Zipf-weighted.
        for items in (self._grade, self._check):
            random.Random(seed).shuffle(items)
        self._grade_cum = _cumulative(_zipf(len(self._grade), zipf))
        self._check_cum = _cumulative(_zipf(len(self._check), zipf))
        self._built: dict[tuple[int, int], bytes] = {}
        self.respellings: Counter[str] = Counter() if respellings is None else respellings
        self._health = http_request("GET", "/api/v1/health", host=host)

    def distinct(self, label: str) -> int:
        return len(self._check) if label == "check" else len(self._grade)

    def __call__(self) -> tuple[int, bytes]:
        rng = self._rng
        label = self._labels[bisect.bisect(self._kind_cum, rng.random() * self._kind_cum[-1])]
        if label == 3:
            return label, self._health
        if label == 1:
            index = bisect.bisect(self._check_cum, rng.random() * self._check_cum[-1])
        else:
            index = bisect.bisect(self._grade_cum, rng.random() * self._grade_cum[-1])
        if self.unique and rng.random() < self.unique:
            text = (self._check if label == 1 else self._grade)[index]["answer"]
            self.respellings[text] += 1
            return label, self._build(label, index, self.respellings[text])
        data = self._built.get((label, index))
        if data is None:
            data = self._built[(label, index)] = self._build(label, index, 0)
        return label, data

    def all_distinct(self, label: str) -> list[bytes]:
        """Every distinct request of a kind once (for warming the server up)."""
        code = self.LABELS.index(label)
        return [self._build(code, i, 0) for i in range(self.distinct(label))]

    def _build(self, label: int, index: int, respelling: int) -> bytes:
        if label == 1:
            body = dict(self._check[index])
        else:
            body = dict(self._grade[index])
        if respelling:
            body["answer"] = spaced(body["answer"], respelling)
        if label == 0:
            return http_request("POST", "/api/v1/grade", body, self.host)
        if label == 1:
            return http_request("POST", "/api/v1/check", body, self.host)
        return http_request("POST", "/api/v1/preview", {"expression": body["answer"]}, self.host)


def _zipf(count: int, exponent: float) -> list[float]:
    return [1.0 / (rank + 1) ** exponent for rank in range(count)]


def _cumulative(weights: Sequence[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def _dedupe(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for item in items:
        key = (item["reference"], item["answer"], json.dumps(item["options"], sort_keys=True))
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


# ---------------------------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------------------------


class Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.sent_at = 0.0
        self.idle_since = time.perf_counter()
        self.closed = False
        self._buf = b""
        self._need = -1  # bytes of head + body once the head is in, else -1
        self._status = 0
        self._close_after = False

    @classmethod
    async def open(cls, addr: tuple[str, int]) -> Connection:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(cls, *addr)
        sock = conn.transport.get_extra_info("socket") if conn.transport else None
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def request(self, data: bytes) -> asyncio.Future[tuple[int, bytes]]:
        """Send one request; the future gives (status, body)."""
        assert self.transport is not None and self.waiter is None
        self.waiter = asyncio.get_running_loop().create_future()
        self.sent_at = time.perf_counter()
        self.transport.write(data)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        self._buf = self._buf + data if self._buf else data
        buf = self._buf
        if self._need < 0:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = buf[:end].lower()
            self._status = int(buf[9:12])
            at = head.find(b"\r\ncontent-length:")
            if at < 0:
                # Only Content-Length framing is expected from this server.
                self._finish(TRANSPORT_ERROR, b"no content-length")
                self.abort()
                return
            eol = head.find(b"\r\n", at + 2)
            length = int(head[at + 17: eol if eol >= 0 else None])
            self._close_after = b"\r\nconnection: close" in head
            self._need = end + 4 + length
        if len(buf) >= self._need:
            body, self._buf = buf[buf.find(b"\r\n\r\n") + 4: self._need], buf[self._need:]
            self._need = -1
            self._finish(self._status, body)
            if self._close_after:
                self.abort()

    def _finish(self, status: int, body: bytes) -> None:
        self.idle_since = time.perf_counter()
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._finish(TRANSPORT_ERROR, b"connection lost")

    def abort(self, status: int = TRANSPORT_ERROR) -> None:
        self._finish(status, b"")
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


@dataclass
class Tally:
    """Every request of a run, column by column (times in perf_counter seconds)."""

    labels: Sequence[str] = Mix.LABELS
    label: array[int] = field(default_factory=lambda: array("b"))
    due: array[float] = field(default_factory=lambda: array("d"))
    latency: array[float] = field(default_factory=lambda: array("d"))
    status: array[int] = field(default_factory=lambda: array("h"))
    verdicts: Counter[str] = field(default_factory=Counter)
    start: float = 0.0
    stop: float = 0.0
    cpu: float = 0.0  # this process's CPU seconds over the run
    unsent: int = 0  # due, but never sent (the run ended first)
    max_waiting: int = 0  # most requests waiting for a free connection at once
    connections: int = 0

    def add(self, label: int, due: float, finished: float, status: int, body: bytes) -> None:
        self.label.append(label)
        self.due.append(due)
        self.latency.append(finished - due)
        self.status.append(status)
        if status == 200 and label < 2:  # grade, check
            at = body.find(b'"verdict":"')
            if at >= 0:
                self.verdicts[body[at + 11: body.find(b'"', at + 11)].decode()] += 1


class _Watchdog:
    """Aborts a connection whose request is older than `timeout` (cheaper than a timer each)."""

    def __init__(self, conns: list[Connection], timeout: float) -> None:
        self.conns, self.timeout = conns, timeout
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(min(0.25, self.timeout / 4))
            now = time.perf_counter()
            for conn in self.conns:
                if conn.waiter is not None and now - conn.sent_at > self.timeout:
                    conn.abort(DROPPED_TIMEOUT)

    def stop(self) -> None:
        self.task.cancel()


async def closed_loop(addr: tuple[str, int], source: Source, concurrency: int, seconds: float,
                      *, max_requests: int | None = None, timeout: float = 30.0) -> Tally:
    """`concurrency` clients, each sending its next request when the previous one is answered."""
    tally = Tally()
    conns: list[Connection] = [await Connection.open(addr) for _ in range(concurrency)]
    tally.connections = len(conns)
    watchdog = _Watchdog(conns, timeout)
    budget = [max_requests if max_requests is not None else 1 << 62]

    async def user(slot: int) -> None:
        perf = time.perf_counter
        while perf() < deadline and budget[0] > 0:
            budget[0] -= 1
            conn = conns[slot]
            if conn.closed:
                try:
                    conn = conns[slot] = await Connection.open(addr)
                    tally.connections += 1
                except OSError:
                    t = perf()
                    tally.add(0, t, t, TRANSPORT_ERROR, b"")
                    await asyncio.sleep(0.05)
                    continue
            label, data = source()
            t0 = perf()
            status, body = await conn.request(data)
            tally.add(label, t0, perf(), status, body)

    cpu0 = time.process_time()
    tally.start = time.perf_counter()
    deadline = tally.start + seconds
    try:
        await asyncio.gather(*(user(i) for i in range(concurrency)))
    finally:
        tally.stop = time.perf_counter()
        tally.cpu = time.process_time() - cpu0
        watchdog.stop()
        for conn in conns:
            conn.abort()
    return tally


async def open_loop(addr: tuple[str, int], source: Source, rate: float, seconds: float, *,
                    max_connections: int = 256, timeout: float = 10.0,
                    tick: Callable[[float], Awaitable[None] | None] | None = None,
                    tick_every: float = 1.0) -> Tally:
    """Requests due at `rate` per second for `seconds`, whatever the server's pace.

    Each due request takes an idle connection, or opens one while fewer than `max_connections`
    are open, or waits for one; its latency counts from when it was due. After the last is
    due, the answers still in flight get up to `timeout`; what never came back is dropped.
    `tick(elapsed)` is called about every `tick_every` seconds (e.g. to sample memory).
    """
    tally = Tally()
    loop = asyncio.get_running_loop()
    conns: list[Connection] = []
    idle: list[Connection] = []
    waiting: deque[tuple[int, float, bytes]] = deque()
    opening = [0]
    watchdog = _Watchdog(conns, timeout)
    perf = time.perf_counter
    in_flight = [0]
    done = asyncio.Event()

    def send(conn: Connection, label: int, due: float, data: bytes) -> None:
        in_flight[0] += 1
        conn.request(data).add_done_callback(
            lambda f: answered(conn, label, due, f.result()))

    def answered(conn: Connection, label: int, due: float, result: tuple[int, bytes]) -> None:
        in_flight[0] -= 1
        tally.add(label, due, perf(), *result)
        release(conn)
        if finished_sending and in_flight[0] == 0 and not waiting:
            done.set()

    def release(conn: Connection) -> None:
        if conn.closed:
            with contextlib.suppress(ValueError):
                conns.remove(conn)
            if waiting:
                grow()
            return
        if waiting:
            label, due, data = waiting.popleft()
            send(conn, label, due, data)
        else:
            idle.append(conn)

    def grow() -> None:
        if len(conns) + opening[0] < max_connections:
            opening[0] += 1
            loop.create_task(opened())

    async def opened() -> None:
        try:
            conn = await Connection.open(addr)
        except OSError:
            opening[0] -= 1
            if waiting:  # the server refuses connections: each waiting request fails
                label, due, _ = waiting.popleft()
                tally.add(label, due, perf(), TRANSPORT_ERROR, b"")
                if waiting:
                    loop.call_later(0.05, grow)
            if finished_sending and in_flight[0] == 0 and not waiting:
                done.set()
            return
        opening[0] -= 1
        conns.append(conn)
        tally.connections += 1
        release(conn)

    finished_sending = False
    interval = 1.0 / rate
    total = int(rate * seconds)
    cpu0 = time.process_time()
    tally.start = start = perf()
    next_tick = start + tick_every
    sent = 0
    while sent < total:
        now = perf()
        due_count = min(total, int((now - start) * rate) + 1)
        while sent < due_count:
            due = start + sent * interval
            label, data = source()
            sent += 1
            while idle and (idle[-1].closed or perf() - idle[-1].idle_since > IDLE_LIMIT):
                stale = idle.pop()  # closed by the server, or about to be
                stale.abort()
                with contextlib.suppress(ValueError):
                    conns.remove(stale)
            if idle:
                send(idle.pop(), label, due, data)
            else:
                waiting.append((label, due, data))
                grow()
        tally.max_waiting = max(tally.max_waiting, len(waiting))
        if tick is not None and now >= next_tick:
            next_tick += tick_every
            maybe = tick(now - start)
            if maybe is not None:
                await maybe
        await asyncio.sleep(max(0.0, start + sent * interval - perf()))
    finished_sending = True
    if in_flight[0] or waiting:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout + 1.0)
    tally.unsent = len(waiting)
    tally.stop = perf()
    tally.cpu = time.process_time() - cpu0
    watchdog.stop()
    for conn in list(conns):
        conn.abort()
    return tally


def run(coro: Awaitable[T]) -> T:
    """Run a coroutine on uvloop when it is installed (a cheaper client), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    return uvloop.run(coro)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


def summary(tally: Tally, *, label: str | None = None, window: tuple[float, float] | None = None
            ) -> dict[str, Any]:
    """Requests/s, latency percentiles (ms), errors, 5xx and dropped requests of a run, or of
    one label, or of the requests due within `window` (seconds from the start)."""
    status = np.frombuffer(tally.status, dtype=np.int16) if tally.status else np.zeros(0, "i2")
    latency = np.frombuffer(tally.latency) if tally.latency else np.zeros(0)
    due = np.frombuffer(tally.due) - tally.start if tally.due else np.zeros(0)
    keep = np.ones(len(status), dtype=bool)
    if label is not None:
        labels = np.frombuffer(tally.label, dtype=np.int8) if tally.label else np.zeros(0, "i1")
        keep &= labels == tally.labels.index(label)
    if window is not None:
        keep &= (due >= window[0]) & (due < window[1])
    status, latency = status[keep], latency[keep]
    seconds = (window[1] - window[0]) if window is not None else tally.stop - tally.start
    ms = latency * 1e3
    n = len(status)
    codes = Counter(int(s) for s in status)
    out: dict[str, Any] = {
        "requests": n,
        "seconds": seconds,
        "requests_per_second": n / seconds if seconds > 0 else 0.0,
        "errors": int(np.count_nonzero(status != 200)),
        "status_5xx": int(np.count_nonzero((status >= 500) & (status < 600))),
        "dropped": int(np.count_nonzero(status <= 0)),
        "statuses": {_status_name(c): k for c, k in sorted(codes.items())},
    }
    if n:
        p50, p90, p99 = np.percentile(ms, [50, 90, 99])
        out |= {"p50_ms": float(p50), "p90_ms": float(p90), "p99_ms": float(p99),
                "max_ms": float(ms.max()), "mean_ms": float(ms.mean())}
    return out


def _status_name(code: int) -> str:
    return {DROPPED_TIMEOUT: "timeout", TRANSPORT_ERROR: "transport"}.get(code, str(code))


# ---------------------------------------------------------------------------------------------
# The server under test
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, workers: int, log: Path, *, extra: Sequence[str] = (),
                 env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`mathgrader serve` on 127.0.0.1:`port`, in its own process group (so that stopping it
    reaches its grading processes too), output to `log`."""
    cmd = [MATHGRADER, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
           str(workers), *extra]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env={**os.environ, **(env or {})})


def command_of(proc: subprocess.Popen[bytes]) -> str:
    args = proc.args
    return shlex.join(map(str, args)) if isinstance(args, list | tuple) else str(args)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, 15), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


async def wait_ready(addr: tuple[str, int], proc: subprocess.Popen[bytes],
                     timeout: float = 60.0) -> float:
    """Seconds until `/api/v1/health` answers 200."""
    start = time.perf_counter()
    health = http_request("GET", "/api/v1/health")
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            conn = await Connection.open(addr)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        status, _ = await conn.request(health)
        conn.abort()
        if status == 200:
            return time.perf_counter() - start
        await asyncio.sleep(0.05)
    raise RuntimeError("server not ready")


async def send_each(addr: tuple[str, int], requests: Iterable[bytes],
                    concurrency: int = 4) -> Counter[int]:
    """Send every request once (e.g. to warm the server up); the statuses it got."""
    todo = list(requests)
    statuses: Counter[int] = Counter()

    async def user() -> None:
        conn = await Connection.open(addr)
        while todo:
            if conn.closed:
                conn = await Connection.open(addr)
            status, _ = await conn.request(todo.pop())
            statuses[status] += 1
        conn.abort()

    await asyncio.gather(*(user() for _ in range(concurrency)))
    return statuses


def process_tree(pid: int) -> list[int]:
    """`pid` and every live descendant (grading workers, forkserver), from /proc."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                todo += map(int, Path(f"/proc/{p}/task/{tid}/children").read_text().split())
        except OSError:
            continue
        out.append(p)
    return out


_TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_each(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) used so far by `pid` and each live descendant."""
    out = {}
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            out[p] = (int(fields[11]) + int(fields[12])) / _TICK
    return out


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by `pid` and its live descendants."""
    return sum(tree_cpu_each(pid).values())


def tree_memory(pid: int) -> dict[str, Any]:
    """Resident memory of `pid` and its descendants in MiB: RSS (shared pages counted in each
    process) and PSS (shared pages split between them), summed and per process."""
    rss = pss = 0.0
    each = {}
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            fields = dict(line.split(":", 1) for line in
                          Path(f"/proc/{p}/smaps_rollup").read_text().splitlines()[1:])
            r = int(fields["Rss"].split()[0]) / 1024
            s = int(fields["Pss"].split()[0]) / 1024
            rss, pss = rss + r, pss + s
            each[str(p)] = round(r, 1)
    return {"rss_mib": rss, "pss_mib": pss, "processes": len(each), "rss_each_mib": each}


def machine_busy() -> float:
    """CPU seconds all cores have spent busy since boot (from /proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICK
