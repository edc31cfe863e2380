"""The submissions log: every graded submission, kept in a SQL database without slowing grading.

This module owns the `submissions` table (SQLAlchemy Core, any SQLAlchemy URL; SQLite under
`var/` by default) and the way it is written. A grading request only puts the submission on an
in-memory queue; a background thread writes batches. When the database fails (down, locked,
full), batches go to a spool of JSON Lines files under `var/spool/` and the store reports
`degraded`; the thread retries with backoff and flushes the spool into the database once it
works again. Every submission carries a unique `uid`, so a flush that is retried after a partial
write never duplicates a row.

Spool files are per store (`spool-<db>-<token>.jsonl`), so several processes can share one
folder. A live store holds an advisory lock on `lock-<db>-<token>`; files of a store that is gone
(closed, or its process died) are claimed with an atomic rename and flushed by any other store
of the same database.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import queue
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    desc,
    event,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    SQLAlchemyError,
)
from sqlalchemy.pool import StaticPool

from ..errors import MathgraderError

if TYPE_CHECKING:
    from ..checker.grade import Grade
    from ..keys import Question

try:  # advisory locks tell a live store's spool from an orphan's; POSIX only
    import fcntl
except ImportError:  # pragma: no cover - Windows: only lock-less (cleanly closed) spools move
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DATABASE_URL_ENV",
    "AnswerCount",
    "StoreError",
    "Submission",
    "SubmissionStore",
    "VerdictCount",
    "default_url",
    "submissions",
]

logger = logging.getLogger("mathgrader.store")

DATABASE_URL_ENV = "MATHGRADER_DATABASE_URL"
MAX_ANSWER_CHARS = 10_000  # the grammar refuses far shorter input; this only bounds what is kept
MAX_ID_CHARS = 255
LINGER = 0.05  # seconds a write waits for more submissions to join it
CHUNK = 500  # rows per INSERT and per uid look-up
MAX_HELD = 100_000  # submissions kept in memory when neither the database nor the disk works
SCAN_INTERVAL = 60.0  # seconds between looks for spool files left by stores that are gone

metadata = MetaData()

submissions = Table(
    "submissions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("uid", String(32), nullable=False, unique=True),
    Column("quiz", String(MAX_ID_CHARS), nullable=False),
    Column("question", String(MAX_ID_CHARS), nullable=False),
    Column("answer", Text, nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("score", Float, nullable=False),
    Column("feedback", Text, nullable=True),
    Column("error_code", String(64), nullable=True),
    Column("seconds", Float, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_submissions_quiz_question", "quiz", "question"),
)


class StoreError(MathgraderError):
    """The submissions database cannot be used: a bad URL, a missing driver, or a failed read."""


# ------------------------------------------------------------------------------- submissions


def _now() -> datetime:
    return datetime.now(UTC)


def _new_uid() -> str:
    return uuid.uuid4().hex


def _clean(text: str, limit: int) -> str:
    # PostgreSQL refuses NUL and every database refuses lone surrogates: neither can be logged.
    text = text[:limit].replace("\x00", "\ufffd")
    return text.encode("utf-8", "replace").decode("utf-8")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Submission:
    """One graded answer, as logged."""

    quiz: str
    question: str
    answer: str
    verdict: str
    score: float
    feedback: str | None = None
    seconds: float = 0.0
    error_code: str | None = None
    created_at: datetime = field(default_factory=_now)
    uid: str = field(default_factory=_new_uid)

    @classmethod
    def from_grade(cls, quiz: str, question: str, answer: str,
                   result: Grade | Mapping[str, Any], seconds: float = 0.0) -> Submission:
        """From a `Grade` or its `to_dict()` record (`verdict`, `score`, `feedback`, `error`)."""
        record = result if isinstance(result, Mapping) else result.to_dict()
        error = record.get("error")
        code = error.get("code") if isinstance(error, Mapping) else None
        score = record.get("score")
        feedback = record.get("feedback")
        # Cut now, not only when written: answers of any length reach here (a too-long one
        # is graded `invalid`), and submissions may wait in memory while the database is down.
        return cls(
            quiz=quiz, question=question, answer=answer[:MAX_ANSWER_CHARS],
            verdict=str(record.get("verdict", "error")),
            score=float(score) if isinstance(score, int | float) else 0.0,
            feedback=feedback if isinstance(feedback, str) else None,
            seconds=seconds,
            error_code=code if isinstance(code, str) else None,
        )

    def to_row(self) -> dict[str, Any]:
        """The row to insert: texts cleaned and bounded, numbers finite, time in UTC."""
        return {
            "uid": self.uid,
            "quiz": _clean(self.quiz, MAX_ID_CHARS),
            "question": _clean(self.question, MAX_ID_CHARS),
            "answer": _clean(self.answer, MAX_ANSWER_CHARS),
            "verdict": _clean(self.verdict, 16),
            "score": self.score if math.isfinite(self.score) else 0.0,
            "feedback": None if self.feedback is None else _clean(self.feedback,
                                                                  MAX_ANSWER_CHARS),
            "error_code": None if self.error_code is None else _clean(self.error_code, 64),
            "seconds": self.seconds if math.isfinite(self.seconds) else 0.0,
            "created_at": _utc(self.created_at),
        }

    def to_json(self) -> dict[str, Any]:
        row = self.to_row()
        row["created_at"] = row["created_at"].isoformat()
        return row

    @classmethod
    def from_json(cls, data: Any) -> Submission:
        """From a spool line; `ValueError` when it is not one."""
        if not isinstance(data, dict):
            raise ValueError("a spool line must be a JSON object")
        try:
            return cls(
                quiz=_text(data["quiz"]), question=_text(data["question"]),
                answer=_text(data["answer"]), verdict=_text(data["verdict"]),
                score=float(data["score"]), feedback=_optional_text(data.get("feedback")),
                seconds=float(data.get("seconds", 0.0)),
                error_code=_optional_text(data.get("error_code")),
                created_at=_utc(datetime.fromisoformat(_text(data["created_at"]))),
                uid=_text(data["uid"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a spooled submission: {exc}") from None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Submission:
        return cls(
            quiz=row["quiz"], question=row["question"], answer=row["answer"],
            verdict=row["verdict"], score=row["score"], feedback=row["feedback"],
            seconds=row["seconds"], error_code=row["error_code"],
            created_at=_utc(row["created_at"]), uid=row["uid"],
        )


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


@dataclass(frozen=True, slots=True)
class VerdictCount:
    question: str
    verdict: str
    count: int
    score_sum: float


@dataclass(frozen=True, slots=True)
class AnswerCount:
    answer: str
    error_code: str | None
    count: int
    feedback: str | None  # one of the messages learners were given for this answer


# --------------------------------------------------------------------------------- URLs


def default_url(base_dir: str | Path | None = None, *, create: bool = True) -> str:
    """`MATHGRADER_DATABASE_URL`, else `sqlite:///<base_dir>/var/submissions.db` (base: cwd).

    Creates `var/` unless `create` is false.
    """
    configured = os.environ.get(DATABASE_URL_ENV, "").strip()
    if configured:
        return configured
    var = Path(base_dir if base_dir is not None else Path.cwd()).resolve() / "var"
    if create:
        var.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{var / 'submissions.db'}"


def _sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL; None for other databases and in-memory SQLite."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database).resolve()


def _describe(exc: BaseException) -> str:
    """Short text for logs: the driver's exception without SQL or bound parameters."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    first = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first}"[:300]


def _row_problem(exc: SQLAlchemyError) -> bool:
    """Whether a row (not the database) is at fault, so retrying the same rows cannot work.

    Down, locked, full, read-only, a dropped table: all retryable; only data errors are not.
    """
    return isinstance(exc, IntegrityError | DataError)


# -------------------------------------------------------------------------------- commands


@dataclass
class _Flush:
    done: threading.Event = field(default_factory=threading.Event)


_STOP = object()


# ------------------------------------------------------------------------------------ store


class SubmissionStore:
    """The submissions log of one database.

    `record()` never raises and never waits on the database. `flush()` waits until what was
    recorded is written (or spooled); `close()` flushes and stops the writer. With
    `read_only=True` (the report command) no thread runs, no schema is created and a missing
    SQLite file reads as empty.
    """

    def __init__(
        self,
        url: str,
        *,
        spool_dir: str | Path | None = None,
        read_only: bool = False,
        busy_timeout: float = 5.0,
        queue_size: int = 10_000,
        backlog_warning: int = 1_000,
        retry_initial: float = 0.5,
        retry_max: float = 30.0,
    ) -> None:
        try:
            self.url = make_url(url)
        except ArgumentError as exc:
            raise StoreError(f"not a database URL: {exc}") from None
        self.display_url = self.url.render_as_string(hide_password=True)
        self.read_only = read_only
        self._sqlite_path = _sqlite_file(self.url)
        self._engine = self._create_engine(busy_timeout)
        identity = str(self._sqlite_path) if self._sqlite_path else self.display_url
        self._db = hashlib.sha256(identity.encode()).hexdigest()[:12]
        self._token = _new_uid()[:16]
        if spool_dir is not None:
            self.spool_dir = Path(spool_dir).resolve()
        elif self._sqlite_path is not None:
            self.spool_dir = self._sqlite_path.parent / "spool"
        else:
            self.spool_dir = Path("var", "spool").resolve()
        self._spool_path = self.spool_dir / f"spool-{self._db}-{self._token}.jsonl"
        self._lock_path = self.spool_dir / f"lock-{self._db}-{self._token}"
        self._lock_file: IO[bytes] | None = None

        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._backlog_warning = backlog_warning
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._state = threading.Lock()  # guards the fields below
        self._spool_lock = threading.Lock()  # one writer of our spool file at a time
        self._error: str | None = None  # why the last database operation failed
        self._error_at: datetime | None = None
        self._schema_ready = False
        self._spooled = 0  # submissions appended to our spool file since we last claimed it
        self._claimed = 0  # submissions in files we claimed and have not flushed yet
        self._held: list[Submission] = []  # waiting in memory: the spool could not be written
        self._lost = 0
        self._retry_delay = retry_initial
        # Monotonic times of the next flush of the spool and of the next look for orphans'
        # spools; both due at once, so a new store flushes what an earlier run left.
        self._next_retry = 0.0
        self._next_scan = 0.0
        self._closed = False
        self._thread: threading.Thread | None = None
        if not read_only:
            self._take_lock()
            self._thread = threading.Thread(target=self._run, name="mathgrader-store",
                                            daemon=True)
            self._thread.start()

    def _create_engine(self, busy_timeout: float) -> Engine:
        options: dict[str, Any] = {}
        connect_args: dict[str, Any] = {}
        backend = self.url.get_backend_name()
        if backend == "sqlite":
            connect_args["timeout"] = busy_timeout
            if self._sqlite_path is None:  # in memory: one connection, shared by the threads
                options["poolclass"] = StaticPool
                connect_args["check_same_thread"] = False
        else:
            options["pool_pre_ping"] = True
            if backend in ("postgresql", "mysql", "mariadb"):
                connect_args["connect_timeout"] = max(1, round(busy_timeout))
        try:
            engine = create_engine(self.url, connect_args=connect_args, **options)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise StoreError(f"cannot use {self.display_url}: {exc}") from None
        if backend == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas(busy_timeout, not self.read_only))
        return engine

    # ------------------------------------------------------------------------ recording

    def record(self, submission: Submission) -> None:
        """Log a submission. Never raises and never waits on the database."""
        if not self._closed:
            try:
                self._queue.put_nowait(submission)
                return
            except queue.Full:
                pass  # the writer is stuck: go straight to disk rather than wait
        self._spool([submission])

    def record_grade(self, question: Question | str, answer: str,
                     result: Grade | Mapping[str, Any], seconds: float = 0.0) -> None:
        """Log a graded answer to a key's `Question` (or a `quiz/question` id)."""
        if isinstance(question, str):
            quiz, _, local = question.partition("/")
        else:
            quiz, local = question.quiz, question.id
        self.record(Submission.from_grade(quiz, local, answer, result, seconds))

    def flush(self, timeout: float = 10.0) -> bool:
        """Write what was recorded so far and try the spool now; True when nothing waits."""
        if self._thread is not None and self._thread.is_alive() and not self._closed:
            command = _Flush()
            try:
                self._queue.put(command, timeout=timeout)
            except queue.Full:
                return False
            if not command.done.wait(timeout):
                return False
        with self._state:
            return self._waiting() == 0 and self._error is None

    def close(self, timeout: float = 10.0) -> None:
        """Flush, stop the writer and release the database. What cannot be written stays spooled."""
        if self._closed:
            return
        if self._thread is not None:
            try:
                self._queue.put(_STOP, timeout=timeout)
            except queue.Full:
                pass
            self._thread.join(timeout)
        self._closed = True
        leftovers = []
        while True:  # the writer stopped early or is stuck: keep the rest on disk
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, Submission):
                leftovers.append(item)
            elif isinstance(item, _Flush):
                item.done.set()
        if leftovers:
            self._spool(leftovers)
        with self._state:
            held, self._held = self._held, []
        if held:
            self._spool(held)
        self._release_lock()
        self._engine.dispose()

    def __enter__(self) -> SubmissionStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --------------------------------------------------------------------------- health

    @property
    def healthy(self) -> bool:
        return self.status()["status"] == "ok"

    def status(self) -> dict[str, Any]:
        """For the health endpoint: `{"status": "ok" | "degraded", "reason": str | None, ...}`.

        The reason never contains the URL, SQL or learner text.
        """
        queued = self._queue.qsize()
        with self._state:
            error, held, lost = self._error, len(self._held), self._lost
            spooled = self._spooled + self._claimed
            error_at = self._error_at
        reasons = []
        if error is not None:
            reasons.append(f"the submissions database is failing ({error})")
        if spooled:
            reasons.append(f"{_count(spooled)} spooled to disk")
        if held:
            reasons.append(f"{_count(held)} held in memory (the spool cannot be written)")
        if lost:
            reasons.append(f"{_count(lost)} lost")
        if queued >= self._backlog_warning:
            reasons.append(f"the submissions database is slow ({queued} waiting)")
        if (not self.read_only and not self._closed and self._thread is not None
                and not self._thread.is_alive()):
            reasons.append("the submissions writer stopped")
        return {
            "status": "degraded" if reasons else "ok",
            "reason": "; ".join(reasons) or None,
            "queued": queued,
            "spooled": spooled,
            "held_in_memory": held,
            "lost": lost,
            "last_error_at": error_at.isoformat() if error_at else None,
        }

    # --------------------------------------------------------------------------- reading

    def rows(self, quiz: str) -> Iterator[Submission]:
        """The recorded submissions of a quiz, oldest first; `StoreError` if unreadable."""
        query = select(submissions).where(submissions.c.quiz == quiz).order_by(submissions.c.id)
        if self.read_only and not self.exists:
            return
        try:
            with self._engine.connect() as conn:
                if not self._readable(conn):
                    return
                result = conn.execution_options(yield_per=CHUNK).execute(query)
                for row in result.mappings():
                    yield Submission.from_row(row)
        except SQLAlchemyError as exc:
            raise self._read_error(exc) from None

    def verdict_counts(self, quiz: str) -> list[VerdictCount]:
        """Per question and verdict: how many submissions and the sum of their scores."""
        t = submissions
        query = (select(t.c.question, t.c.verdict, func.count().label("n"),
                        func.coalesce(func.sum(t.c.score), 0.0).label("s"))
                 .where(t.c.quiz == quiz).group_by(t.c.question, t.c.verdict))
        return [VerdictCount(r.question, r.verdict, int(r.n), float(r.s))
                for r in self._read(query)]

    def answer_counts(self, quiz: str, question: str, verdict: str,
                      limit: int = 200) -> list[AnswerCount]:
        """The most frequent answers (exact spelling) with that verdict, most frequent first."""
        t = submissions
        count = func.count().label("n")
        query = (select(t.c.answer, t.c.error_code, count, func.max(t.c.feedback).label("f"))
                 .where(t.c.quiz == quiz, t.c.question == question, t.c.verdict == verdict)
                 .group_by(t.c.answer, t.c.error_code)
                 .order_by(desc(count), t.c.answer).limit(limit))
        return [AnswerCount(r.answer, r.error_code, int(r.n), r.f) for r in self._read(query)]

    def distinct_answers(self, quiz: str, question: str, verdict: str) -> int:
        t = submissions
        query = (select(func.count(t.c.answer.distinct()))
                 .where(t.c.quiz == quiz, t.c.question == question, t.c.verdict == verdict))
        rows = self._read(query)
        return int(rows[0][0]) if rows else 0

    def error_counts(self, quiz: str, question: str) -> list[tuple[str | None, int]]:
        """Invalid answers of a question by error code, most frequent first."""
        t = submissions
        count = func.count().label("n")
        query = (select(t.c.error_code, count)
                 .where(t.c.quiz == quiz, t.c.question == question, t.c.verdict == "invalid")
                 .group_by(t.c.error_code).order_by(desc(count)))
        return [(r.error_code, int(r.n)) for r in self._read(query)]

    def count(self, quiz: str | None = None) -> int:
        """How many submissions are in the database (for one quiz, or all)."""
        query = select(func.count()).select_from(submissions)
        if quiz is not None:
            query = query.where(submissions.c.quiz == quiz)
        rows = self._read(query)
        return int(rows[0][0]) if rows else 0

    def _read(self, query: Any) -> list[Any]:
        if self.read_only and not self.exists:
            return []  # connecting would create the file
        try:
            with self._engine.connect() as conn:
                if not self._readable(conn):
                    return []
                return list(conn.execute(query))
        except SQLAlchemyError as exc:
            raise self._read_error(exc) from None

    def _readable(self, conn: Connection) -> bool:
        # A database nobody has written to yet has no table: that reads as no submissions.
        return self._schema_ready or inspect(conn).has_table(submissions.name)

    def _read_error(self, exc: SQLAlchemyError) -> StoreError:
        return StoreError(f"cannot read the submissions database {self.display_url}: "
                          f"{_describe(exc)}")

    @property
    def engine(self) -> Engine:
        """For tools that need more than the methods above (e.g. migrations, exports)."""
        return self._engine

    @property
    def exists(self) -> bool:
        """False for a SQLite file that was never created (reading it must not create it)."""
        return self._sqlite_path is None or self._sqlite_path.exists()

    # ---------------------------------------------------------------------- writer thread

    def _run(self) -> None:
        stop = False
        while not stop:
            batch: list[Submission] = []
            flushes: list[_Flush] = []
            try:
                stop = self._collect(batch, flushes)
                if batch:
                    self._write_or_spool(batch)
                    batch = []
                now = time.monotonic()
                scan = bool(flushes) or stop or now >= self._next_scan
                if scan or now >= self._next_retry:
                    self._drain(scan)
            except Exception:
                # The log must outlive a bug in itself: keep the batch on disk and carry on.
                logger.exception("the submissions writer failed; spooling and continuing")
                with self._state:
                    self._error = "internal error"
                    self._error_at = _now()
                    self._next_retry = time.monotonic() + self._retry_delay
                if batch:
                    self._spool(batch)
            finally:
                for command in flushes:
                    command.done.set()

    def _collect(self, batch: list[Submission], flushes: list[_Flush]) -> bool:
        """Wait for work (or the next retry), then take what is queued, up to a chunk.

        Stops at a flush command, so that it is answered after what was recorded before it.
        True when told to stop.
        """
        now = time.monotonic()
        wait = max(0.01, min(self._next_retry - now, self._next_scan - now, 5.0))
        try:
            item = self._queue.get(timeout=wait)
        except queue.Empty:
            return False
        now = time.monotonic()
        while True:
            if item is _STOP:
                return True
            if isinstance(item, _Flush):
                flushes.append(item)
                return False
            if isinstance(item, Submission):
                batch.append(item)
            if len(batch) >= CHUNK:
                return False
            # Linger a little after the first submission: one write of many rows costs the
            # request path (which shares the GIL with this thread) far less than many writes.
            left = LINGER - (time.monotonic() - now) if batch else 0.0
            try:
                item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                return False

    def _waiting(self) -> int:
        """Submissions on disk or in memory, not yet in the database (caller holds _state)."""
        return self._spooled + self._claimed + len(self._held)

    def _write_or_spool(self, batch: list[Submission]) -> None:
        with self._state:
            failing = self._error is not None or self._waiting() > 0
        if failing:  # do not hammer a failing database: the retry schedule flushes the spool
            self._spool(batch)
            return
        try:
            self._insert(batch)
        except SQLAlchemyError as exc:
            self._failed(exc)
            self._spool(batch)

    def _drain(self, scan: bool) -> None:
        """Flush held and spooled submissions into the database; on failure back off."""
        if scan:
            self._next_scan = time.monotonic() + SCAN_INTERVAL
        with self._state:
            held, self._held = self._held, []
            failing = self._error is not None
        files = self._claimable(orphans=scan)
        try:
            if held:
                self._insert(held)
                held = []
            for path in files:
                self._flush_file(path)
            if failing and not files:
                self._probe()
        except SQLAlchemyError as exc:
            self._failed(exc)
            return
        finally:
            if held:
                with self._state:
                    self._held[:0] = held
        with self._state:
            if self._error is not None:
                logger.warning("the submissions database %s works again", self.display_url)
            self._error = None
            self._claimed = 0
            self._retry_delay = self._retry_initial
            # Something spooled meanwhile (a full queue, or a race with the claim): soon.
            self._next_retry = (time.monotonic() + self._retry_initial if self._waiting()
                                else math.inf)

    def _probe(self) -> None:
        self._ensure_schema()
        with self._engine.connect() as conn:
            conn.execute(select(1))

    def _failed(self, exc: SQLAlchemyError) -> None:
        with self._state:
            first = self._error is None
            self._error = type(exc.orig if isinstance(exc, DBAPIError) else exc).__name__
            self._error_at = _now()
            self._schema_ready = False  # the table may have to be created again
            self._next_retry = time.monotonic() + self._retry_delay
            self._retry_delay = min(self._retry_delay * 2, self._retry_max)
        log = logger.warning if first else logger.debug
        log("cannot write submissions to %s (%s); spooling to %s", self.display_url,
            _describe(exc), self.spool_dir)

    def _ensure_schema(self) -> None:
        if not self._schema_ready:
            metadata.create_all(self._engine, checkfirst=True)
            self._schema_ready = True

    def _insert(self, batch: list[Submission]) -> None:
        """Insert in chunks, skipping uids already present.

        Raises SQLAlchemyError when the database fails. A row the database refuses (a data
        error) is found by retrying its chunk row by row and set aside in `rejected-*.jsonl`,
        so that one bad row cannot keep the store degraded forever.
        """
        self._ensure_schema()
        for start in range(0, len(batch), CHUNK):
            chunk = batch[start : start + CHUNK]
            try:
                with self._engine.begin() as conn:
                    _insert_new(conn, chunk)
            except SQLAlchemyError as exc:
                if not _row_problem(exc):
                    raise
                if len(chunk) == 1:
                    self._reject(chunk, exc)
                else:
                    for one in chunk:
                        self._insert([one])

    def _reject(self, rows: list[Submission], exc: SQLAlchemyError) -> None:
        path = self.spool_dir / f"rejected-{self._db}-{self._token}.jsonl"
        logger.error("the submissions database refuses a row (%s); kept in %s",
                     _describe(exc), path)
        try:
            _append_lines(path, [json.dumps(s.to_json()) for s in rows])
        except OSError:
            with self._state:
                self._lost += len(rows)

    # ---------------------------------------------------------------------------- spool

    def _spool(self, batch: Iterable[Submission]) -> None:
        """Append to our spool file; if the disk fails too, hold in memory (bounded)."""
        batch = list(batch)
        lines = [json.dumps(s.to_json()) for s in batch]
        with self._spool_lock:
            try:
                _append_lines(self._spool_path, lines)
            except OSError as exc:
                with self._state:
                    self._held.extend(batch)
                    overflow = len(self._held) - MAX_HELD
                    if overflow > 0:
                        del self._held[:overflow]
                        self._lost += overflow
                logger.error("cannot spool submissions to %s: %s", self._spool_path, exc)
                return
        with self._state:
            self._spooled += len(batch)
            self._next_retry = min(self._next_retry, time.monotonic() + self._retry_delay)

    def _claimable(self, orphans: bool) -> list[Path]:
        """Our spool file (claimed by renaming it), our earlier claims, and orphans' files."""
        try:
            names = sorted(p.name for p in self.spool_dir.iterdir())
        except OSError:
            return []
        claimed: list[Path] = []
        for name in names:
            kind, db, owner = _spool_name(name)
            if db != self._db or kind not in ("spool", "claimed"):
                continue
            if kind == "claimed" and owner == self._token:
                claimed.append(self.spool_dir / name)
            elif owner == self._token or (orphans and self._orphaned(owner)):
                target = self._claim(self.spool_dir / name)
                if target is not None:
                    claimed.append(target)
        return claimed

    def _claim(self, path: Path) -> Path | None:
        target = self.spool_dir / f"claimed-{self._db}-{self._token}-{_new_uid()[:8]}.jsonl"
        try:
            with self._spool_lock:  # our own file: not while a request thread appends to it
                os.rename(path, target)
                if path == self._spool_path:
                    with self._state:
                        self._claimed += self._spooled
                        self._spooled = 0
        except FileNotFoundError:
            return None  # another store claimed it first
        except OSError as exc:
            logger.warning("cannot claim spool file %s: %s", path, exc)
            return None
        return target

    def _orphaned(self, owner: str) -> bool:
        """Whether the store that wrote a spool file is gone (its lock is free or removed)."""
        lock = self.spool_dir / f"lock-{self._db}-{owner}"
        if not lock.exists():
            return True
        if fcntl is None:  # pragma: no cover - no way to tell a crash from a live store
            return False
        try:
            with lock.open("rb") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return False
                lock.unlink(missing_ok=True)
                return True
        except FileNotFoundError:
            return True
        except OSError:
            return False

    def _flush_file(self, path: Path) -> None:
        """Insert a claimed spool file's submissions; delete the file once all are in."""
        batch: list[Submission] = []
        bad: list[str] = []
        try:
            with path.open(encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    if not line.strip():
                        continue
                    try:
                        batch.append(Submission.from_json(json.loads(line)))
                    except ValueError:  # a torn line from a crash: keep it for a person
                        bad.append(line.rstrip("\n"))
                    if len(batch) >= CHUNK * 20:
                        self._insert(batch)
                        batch = []
        except OSError as exc:
            logger.warning("cannot read spool file %s: %s", path, exc)
            return
        if batch:
            self._insert(batch)
        if bad:
            logger.error("%d unreadable lines in %s kept in rejected-*.jsonl", len(bad), path)
            try:
                _append_lines(self.spool_dir / f"rejected-{self._db}-{self._token}.jsonl", bad)
            except OSError:
                return  # keep the whole file rather than lose those lines
        path.unlink(missing_ok=True)

    def _take_lock(self) -> None:
        """Hold our lock file while alive, so other stores leave our spool alone."""
        try:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
            handle = self._lock_path.open("wb")
        except OSError as exc:
            logger.warning("cannot create the spool folder %s: %s", self.spool_dir, exc)
            return
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:  # pragma: no cover - the token is fresh
                logger.warning("cannot lock %s: %s", self._lock_path, exc)
        self._lock_file = handle

    def _release_lock(self) -> None:
        if self._lock_file is None:
            return
        self._lock_path.unlink(missing_ok=True)
        self._lock_file.close()
        self._lock_file = None


def _count(n: int) -> str:
    return f"{n} submission" if n == 1 else f"{n} submissions"


def _spool_name(name: str) -> tuple[str, str, str]:
    """(kind, database hash, owner token) of `spool-DB-OWNER.jsonl`/`claimed-DB-OWNER-N.jsonl`."""
    if not name.endswith(".jsonl"):
        return "", "", ""
    parts = name[: -len(".jsonl")].split("-")
    if len(parts) >= 3 and parts[0] in ("spool", "claimed", "rejected"):
        return parts[0], parts[1], parts[2]
    return "", "", ""


def _append_lines(path: Path, lines: list[str]) -> None:
    if not lines:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))
        handle.flush()
        os.fsync(handle.fileno())


def _insert_new(conn: Connection, chunk: list[Submission]) -> None:
    """Insert the submissions whose uid is not in the table yet (a retried flush)."""
    uids = list(dict.fromkeys(s.uid for s in chunk))
    present = set(conn.scalars(select(submissions.c.uid).where(submissions.c.uid.in_(uids))))
    rows, seen = [], set(present)
    for submission in chunk:
        if submission.uid not in seen:
            seen.add(submission.uid)
            rows.append(submission.to_row())
    if rows:
        conn.execute(insert(submissions), rows)


def _sqlite_pragmas(busy_timeout: float, wal: bool) -> Any:
    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            if wal:
                # WAL: readers (the report) never block the writer, and commits are cheap.
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    return on_connect
