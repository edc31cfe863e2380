"""The submissions log: round trips, the default URL, and no loss or duplicate when the DB fails."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from mathgrader.checker.grade import Grade
from mathgrader.keys import parse_key
from mathgrader.service import store as store_module
from mathgrader.service.store import (
    DATABASE_URL_ENV,
    StoreError,
    Submission,
    SubmissionStore,
    default_url,
)

KEY = parse_key("""
[quiz]
id = "q1"
title = "Quiz"

[[questions]]
id = "a"
answer = "2*x"
""")


def sub(answer: str = "x", verdict: str = "incorrect", **fields: object) -> Submission:
    values: dict[str, object] = {"quiz": "q1", "question": "a", "answer": answer,
                                 "verdict": verdict, "score": 1.0 if verdict == "correct" else 0.0}
    values.update(fields)
    return Submission(**values)  # type: ignore[arg-type]


@pytest.fixture
def stores() -> Iterator[list[SubmissionStore]]:
    opened: list[SubmissionStore] = []
    yield opened
    for store in opened:
        store.close(timeout=5)


def open_store(stores: list[SubmissionStore], url: str, **options: object) -> SubmissionStore:
    store = SubmissionStore(url, retry_initial=0.05, **options)  # type: ignore[arg-type]
    stores.append(store)
    return store


def spool_lines(folder: Path) -> list[dict[str, Any]]:
    lines = []
    for path in sorted(folder.glob("*.jsonl")):
        if not path.name.startswith("rejected-"):
            lines += [json.loads(line) for line in path.read_text().splitlines() if line]
    return lines


def reader(url: str) -> SubmissionStore:
    return SubmissionStore(url, read_only=True)


def test_record_and_read_back(tmp_path: Path, stores: list[SubmissionStore]) -> None:
    url = f"sqlite:///{tmp_path}/var/submissions.db"
    store = open_store(stores, url)
    first = sub("2*x", "correct", feedback=None, seconds=0.25)
    second = sub("3x", "invalid", feedback="write 3*x", error_code="implicit_multiplication")
    store.record(first)
    store.record(second)
    store.record(sub("y", quiz="other"))
    assert store.flush()
    rows = list(store.rows("q1"))
    assert [r.uid for r in rows] == [first.uid, second.uid]
    assert rows[0] == first
    assert rows[1].error_code == "implicit_multiplication"
    assert rows[1].feedback == "write 3*x"
    assert rows[0].created_at.tzinfo is UTC
    assert store.status() == {"status": "ok", "reason": None, "queued": 0, "spooled": 0,
                              "held_in_memory": 0, "lost": 0, "last_error_at": None}
    assert store.healthy
    store.close()
    again = reader(url)
    assert [r.uid for r in again.rows("q1")] == [first.uid, second.uid]
    assert again.count() == 3


def test_sqlite_uses_wal_and_the_table_has_its_index(tmp_path: Path,
                                                     stores: list[SubmissionStore]) -> None:
    store = open_store(stores, f"sqlite:///{tmp_path}/s.db")
    store.record(sub())
    assert store.flush()
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(submissions)")}
        columns = [row[1] for row in conn.execute("PRAGMA table_info(submissions)")]
    assert "ix_submissions_quiz_question" in indexes
    assert columns[:2] == ["id", "uid"]
    assert {"quiz", "question", "answer", "verdict", "score", "feedback", "seconds",
            "created_at"} <= set(columns)


def test_record_grade_takes_a_question_and_a_grade_or_its_record(
    tmp_path: Path, stores: list[SubmissionStore]
) -> None:
    store = open_store(stores, f"sqlite:///{tmp_path}/s.db")
    question = KEY.question("a")
    store.record_grade(question, "x*2", Grade("correct", 1.0), seconds=0.01)
    store.record_grade("q1/a", "2x", {"verdict": "invalid", "score": 0.0, "feedback": "hint",
                                      "error": {"code": "implicit_multiplication"}})
    assert store.flush()
    rows = list(store.rows("q1"))
    assert [(r.question, r.answer, r.verdict, r.error_code) for r in rows] == [
        ("a", "x*2", "correct", None), ("a", "2x", "invalid", "implicit_multiplication")]


def test_text_the_database_cannot_hold_is_cleaned(tmp_path: Path,
                                                  stores: list[SubmissionStore]) -> None:
    store = open_store(stores, f"sqlite:///{tmp_path}/s.db")
    store.record(sub("x\x00\ud800" + "1" * 20_000))
    assert store.flush()
    (row,) = store.rows("q1")
    assert row.answer.startswith("x\ufffd?")
    assert len(row.answer) == store_module.MAX_ANSWER_CHARS


def test_a_graded_answer_is_cut_before_it_waits_to_be_written() -> None:
    # The service grades answers of any length (a long one is `invalid`, too_long); what waits
    # in memory for the database is bounded like the row it becomes.
    long = "1" * (store_module.MAX_ANSWER_CHARS * 50)
    submission = Submission.from_grade("q1", "a", long, {"verdict": "invalid", "score": 0.0})
    assert submission.answer == long[:store_module.MAX_ANSWER_CHARS]
    assert Submission.from_grade("q1", "a", "x", {"verdict": "invalid"}).answer == "x"


def test_default_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    assert default_url(tmp_path / "a", create=False) == f"sqlite:///{tmp_path}/a/var/submissions.db"
    assert not (tmp_path / "a").exists()
    assert default_url(tmp_path) == f"sqlite:///{tmp_path}/var/submissions.db"
    assert (tmp_path / "var").is_dir()
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql://grader@db/mathgrader")
    assert default_url(tmp_path / "b") == "postgresql://grader@db/mathgrader"
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("url", ["not a url", "nosuchdialect://x/y",
                                 "postgresql+nosuchdriver://u:pw@h/db"], ids=str)
def test_an_unusable_url_is_refused_at_construction(url: str) -> None:
    with pytest.raises(StoreError) as caught:
        SubmissionStore(url)
    assert "pw" not in str(caught.value)


def test_a_failing_database_spools_then_flushes_when_back(
    tmp_path: Path, stores: list[SubmissionStore]
) -> None:
    url = f"sqlite:///{tmp_path}/missing/s.db"  # the folder does not exist: cannot open
    store = open_store(stores, url, spool_dir=tmp_path / "spool")
    recorded = [sub(f"x+{i}") for i in range(5)]
    started = time.perf_counter()
    for submission in recorded:
        store.record(submission)  # never raises
    assert time.perf_counter() - started < 0.1  # no waiting on the database
    assert not store.flush()
    status = store.status()
    assert status["status"] == "degraded"
    assert "failing (OperationalError)" in status["reason"]
    assert "5 submissions spooled" in status["reason"]
    assert status["spooled"] == 5
    assert not store.healthy
    assert sorted(line["uid"] for line in spool_lines(tmp_path / "spool")) == sorted(
        s.uid for s in recorded)
    recorded.append(sub("later"))
    store.record(recorded[-1])  # while failing, straight to the spool
    assert not store.flush()
    assert store.status()["spooled"] == 6

    (tmp_path / "missing").mkdir()
    assert store.flush()
    assert store.healthy
    rows = list(store.rows("q1"))
    assert sorted(r.uid for r in rows) == sorted(s.uid for s in recorded)  # once each
    assert spool_lines(tmp_path / "spool") == []
    store.record(sub("after"))
    assert store.flush()
    assert reader(url).count() == 7


def test_a_locked_database_does_not_make_record_wait(
    tmp_path: Path, stores: list[SubmissionStore]
) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    store = open_store(stores, url, busy_timeout=0.2)
    store.record(sub("first"))
    assert store.flush()
    blocker = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        started = time.perf_counter()
        for i in range(50):
            store.record(sub(f"x+{i}"))
        assert time.perf_counter() - started < 0.1  # no waiting on the database
        assert not store.flush()
        assert store.status()["status"] == "degraded"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert store.flush()
    assert reader(url).count() == 51


def test_a_retried_flush_never_duplicates(tmp_path: Path, stores: list[SubmissionStore]) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    first = open_store(stores, url)
    written = sub("already in")
    first.record(written)
    assert first.flush()
    db = first._db
    first.close()
    # A crash between the commit and the spool file's removal leaves this behind:
    fresh = sub("not yet in")
    spool = tmp_path / "spool" / f"spool-{db}-0123456789abcdef.jsonl"
    spool.write_text(json.dumps(written.to_json()) + "\n" + json.dumps(fresh.to_json()) + "\n"
                     + '{"torn line\n')
    second = open_store(stores, url)
    assert second.flush()
    assert sorted(r.uid for r in second.rows("q1")) == sorted([written.uid, fresh.uid])
    assert not spool.exists()
    (rejected,) = (tmp_path / "spool").glob("rejected-*.jsonl")
    assert rejected.read_text() == '{"torn line\n'  # kept for a person, not lost


def test_a_closed_stores_spool_is_flushed_by_the_next(
    tmp_path: Path, stores: list[SubmissionStore]
) -> None:
    url = f"sqlite:///{tmp_path}/db/s.db"
    spool = tmp_path / "spool"
    gone = open_store(stores, url, spool_dir=spool)
    recorded = sub()
    gone.record(recorded)
    gone.close()
    late = sub("after close")
    gone.record(late)  # after close: spooled, not raised
    assert {line["uid"] for line in spool_lines(spool)} == {recorded.uid, late.uid}
    (tmp_path / "db").mkdir()
    successor = open_store(stores, url, spool_dir=spool)
    assert successor.flush()
    assert sorted(r.uid for r in successor.rows("q1")) == sorted([recorded.uid, late.uid])


def test_a_live_stores_spool_is_left_to_it(tmp_path: Path, stores: list[SubmissionStore]) -> None:
    url = f"sqlite:///{tmp_path}/db/s.db"
    spool = tmp_path / "spool"
    one = open_store(stores, url, spool_dir=spool)
    one.record(sub("by one"))
    assert not one.flush()
    (tmp_path / "db").mkdir()
    two = open_store(stores, url, spool_dir=spool)
    assert two.flush()
    assert two.count() == 0  # one's lock says it is alive: its file is its own business
    assert one.flush()
    assert [r.answer for r in two.rows("q1")] == ["by one"]


def test_a_row_the_database_refuses_is_set_aside(
    tmp_path: Path, stores: list[SubmissionStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    poison = sub("poison")
    real = store_module._insert_new

    def refuse(conn: object, chunk: list[Submission]) -> None:
        if any(s.uid == poison.uid for s in chunk):
            raise IntegrityError("INSERT", {}, Exception("refused"))
        real(conn, chunk)  # type: ignore[arg-type]

    monkeypatch.setattr(store_module, "_insert_new", refuse)
    store = open_store(stores, f"sqlite:///{tmp_path}/s.db")
    for answer in ("a", "b"):
        store.record(sub(answer))
    store.record(poison)
    assert store.flush()
    assert store.healthy
    assert sorted(r.answer for r in store.rows("q1")) == ["a", "b"]
    (rejected,) = (tmp_path / "spool").glob("rejected-*.jsonl")
    assert json.loads(rejected.read_text())["uid"] == poison.uid


def test_an_engine_that_raises_then_recovers(
    tmp_path: Path, stores: list[SubmissionStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = store_module._insert_new
    failing = {"on": True}

    def flaky(conn: object, chunk: list[Submission]) -> None:
        if failing["on"]:
            raise OperationalError("INSERT", {}, Exception("database or disk is full"))
        real(conn, chunk)  # type: ignore[arg-type]

    monkeypatch.setattr(store_module, "_insert_new", flaky)
    store = open_store(stores, f"sqlite:///{tmp_path}/s.db")
    recorded = [sub(f"x+{i}") for i in range(3)]
    for submission in recorded:
        store.record(submission)
    assert not store.flush()
    assert store.status()["status"] == "degraded"
    failing["on"] = False
    assert store.flush()
    assert sorted(r.uid for r in store.rows("q1")) == sorted(s.uid for s in recorded)


def test_when_the_disk_fails_too_submissions_wait_in_memory(
    tmp_path: Path, stores: list[SubmissionStore]
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    url = f"sqlite:///{tmp_path}/db/s.db"
    store = open_store(stores, url, spool_dir=blocked / "spool")
    store.record(sub())
    assert not store.flush()
    status = store.status()
    assert status["held_in_memory"] == 1
    assert "held in memory" in status["reason"]
    (tmp_path / "db").mkdir()
    assert store.flush()
    assert store.count("q1") == 1
    assert store.healthy


def test_close_writes_everything(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    store = SubmissionStore(url)
    for i in range(1200):  # more than one chunk
        store.record(sub(f"x+{i}"))
    store.close()
    assert reader(url).count() == 1200


def test_reading_never_creates_a_database(tmp_path: Path) -> None:
    store = reader(f"sqlite:///{tmp_path}/nothing/s.db")
    assert store.count() == 0
    assert list(store.rows("q1")) == []
    assert store.status()["status"] == "ok"
    assert not (tmp_path / "nothing").exists()
    assert reader(f"sqlite:///{tmp_path}/empty.db").verdict_counts("q1") == []  # no table yet


def test_an_unreadable_database_is_a_store_error(tmp_path: Path) -> None:
    store = reader(f"sqlite:///{tmp_path}")  # a folder, not a database file
    with pytest.raises(StoreError, match="cannot read the submissions database"):
        store.count()
