"""The service under faults: slow checks and a full queue, a grading pool that stops, SIGTERM
while requests are in flight (a real `mathgrader serve`), and a submissions database that fails
or fills up while grading goes on.

Slow checks come from `service_helpers.sleepy`, a grading function whose answer `sleep 2` sleeps
for two seconds. Waits are bounded (a hung request fails the test instead of hanging it) but
nothing asserts how fast anything is.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from mathgrader.batch.pool import DEFAULT_CHUNK_SIZE
from mathgrader.service.app import create_app
from mathgrader.service.grading import GradingPool, PoolClosed
from mathgrader.service.settings import Settings
from mathgrader.service.store import SubmissionStore

sys.path.insert(0, str(Path(__file__).resolve().parent))  # workers import service_helpers too
from service_helpers import EXAMPLES, SLEEPY, Server, live_server  # noqa: E402

pytestmark = pytest.mark.slow  # worker processes, and a served subprocess

QUESTION = "calc1-week2/power-rule"
T = TypeVar("T")


@contextmanager
def serving(tmp: Path, **settings: Any) -> Iterator[TestClient]:
    options: dict[str, Any] = {"keys": EXAMPLES, "var_dir": tmp / "var", "workers": 1,
                               "database_url": f"sqlite:///{tmp}/log.db", "grade_fn": SLEEPY,
                               "timeout": 10.0}
    options.update(settings)
    with TestClient(create_app(Settings(**options))) as client:
        yield client


def bounded(call: Callable[[], T], seconds: float = 60) -> T:
    """`call()`, failing the test if it does not return: the bug these tests look for is a hang."""
    with ThreadPoolExecutor(1) as executor:
        return executor.submit(call).result(timeout=seconds)


def wait_until(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.05)


def health(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def grade(client: TestClient, answer: str) -> Any:
    return client.post("/api/v1/grade", json={"question": QUESTION, "answer": answer})


# ------------------------------------------------------------------------ per-request limits


def test_a_slow_check_is_answered_timeout_by_the_request_limit(tmp_path: Path) -> None:
    # The check's own budget (10 s) is longer than the request may wait (1 s).
    with serving(tmp_path, request_timeout=1.0) as client:
        response = bounded(lambda: grade(client, "sleep 5"))
        assert response.status_code == 200
        body = response.json()
        assert body["verdict"] == "timeout"
        assert body["error"]["code"] == "request_timeout"
        assert "submit it again" in body["feedback"]


def test_a_batch_answers_every_item_in_order_within_the_limit(tmp_path: Path) -> None:
    items = [{"reference": "x", "answer": "x*1"},
             {"question": QUESTION, "answer": "sleep 5 (a)"},
             {"reference": "x", "answer": "sleep 5 (b)"},
             {"question": "calc1-week2/nope", "answer": "1"}]
    with serving(tmp_path, workers=2, request_timeout=2.0) as client:
        # A worker is up (starting one can take seconds on a busy machine): the first item, a
        # quick one, is then checked well within the limit.
        wait_until(lambda: client.post("/api/v1/check", json={
            "reference": "x", "answer": "x"}).json()["verdict"] == "correct")
        response = bounded(lambda: client.post("/api/v1/grade/batch", json={"items": items}))
        assert response.status_code == 200
        results = response.json()["results"]
        assert [r["verdict"] for r in results] == ["correct", "timeout", "timeout", "error"]
        assert [(r.get("error") or {}).get("code") for r in results] == [
            None, "request_timeout", "request_timeout", "unknown_question"]


def test_checks_whose_request_gave_up_never_reach_a_worker(tmp_path: Path) -> None:
    # 200 checks of 50 ms on one worker, 1 s to answer: most are still queued at the limit.
    items = [{"reference": "x", "answer": f"sleep 0.05 #{i}"} for i in range(200)]
    with serving(tmp_path, request_timeout=1.0) as client:
        response = bounded(lambda: client.post("/api/v1/grade/batch", json={"items": items}))
        assert response.status_code == 200
        verdicts = [r["verdict"] for r in response.json()["results"]]
        assert len(verdicts) == 200 and set(verdicts) <= {"incorrect", "timeout"}
        assert verdicts.count("timeout") > 100
        # The pool had taken at most two chunks of them (one to grade, one queued behind): the
        # rest were dropped unstarted, not graded for nobody.
        assert 2 * DEFAULT_CHUNK_SIZE < 100
        wait_until(lambda: health(client)["detail"]["expired"] > 100)


def test_a_full_queue_is_refused_at_once_with_retry_after(tmp_path: Path) -> None:
    with serving(tmp_path, max_queue=1, request_timeout=30.0) as client:
        slow: list[Any] = []
        worker = threading.Thread(target=lambda: slow.append(grade(client, "sleep 1.5")))
        worker.start()
        try:
            wait_until(lambda: health(client)["detail"]["in_flight"] == 1)
            for refused in (grade(client, "x"),
                            client.post("/api/v1/check", json={"reference": "x", "answer": "x"}),
                            client.post("/api/v1/grade/batch", json={"items": [
                                {"reference": "x", "answer": "x"}]})):
                assert refused.status_code == 503
                assert refused.headers["retry-after"] == "2"
                assert "busy" in refused.json()["detail"]
        finally:
            worker.join(60)
        assert slow[0].status_code == 200 and slow[0].json()["verdict"] == "incorrect"
        # Idle again: answered.
        again = client.post("/api/v1/check", json={"reference": "x", "answer": "x"})
        assert again.json()["verdict"] == "correct"


def test_a_stopped_pool_answers_503_instead_of_hanging(tmp_path: Path) -> None:
    # Workers that cannot load their grading function stop the dispatcher for good.
    with serving(tmp_path, grade_fn="service_helpers:no_such_function") as client:
        wait_until(lambda: health(client)["status"] == "degraded")
        assert "grading has stopped" in health(client)["reason"]
        for request in (lambda: grade(client, "x"),
                        lambda: client.post("/api/v1/grade/batch", json={"items": [
                            {"question": QUESTION, "answer": "x"}]})):
            response = bounded(request)
            assert response.status_code == 503
            assert "stopped" in response.json()["detail"]
        assert client.post("/api/v1/preview", json={"expression": "x"}).status_code == 200


# ------------------------------------------------------------------------------ shutdown


def test_close_lets_checks_in_flight_finish() -> None:
    async def scenario(drain: float) -> Any:
        pool = GradingPool(workers=1, timeout=10, grade_fn=SLEEPY)
        pool.start()
        running = asyncio.ensure_future(pool.grade({"reference": "x", "answer": "sleep 0.5"}))
        await asyncio.sleep(0)  # it is in the pool now
        assert pool.in_flight == 1
        closing = asyncio.ensure_future(asyncio.to_thread(pool.close, drain))
        while pool.alive:
            await asyncio.sleep(0.01)
        with pytest.raises(PoolClosed, match="shutting down"):  # no new work meanwhile
            await pool.grade({"reference": "x", "answer": "x"})
        try:
            return await running
        finally:
            await closing

    assert asyncio.run(scenario(drain=30))["verdict"] == "incorrect"
    with pytest.raises(PoolClosed):  # without a drain, what waits is failed
        asyncio.run(scenario(drain=0))


def _post(server: Server, path: str, payload: Any) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request("POST", path, json.dumps(payload),
                           {"content-type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_sigterm_lets_requests_in_flight_finish(tmp_path: Path) -> None:
    answers = [f"sleep 0.3 #{i}" for i in range(10)]  # about 3 s on the one worker
    with live_server(tmp_path, grade_fn=SLEEPY) as server:
        answered: list[tuple[int, Any]] = []
        client = threading.Thread(target=lambda: answered.append(_post(
            server, "/api/v1/grade/batch",
            {"items": [{"question": QUESTION, "answer": a} for a in answers]})))
        client.start()
        wait_until(lambda: server.in_flight() > 0)
        server.process.send_signal(signal.SIGTERM)
        # uvicorn stops listening at once, while the batch is still being graded.
        wait_until(lambda: _refuses_connections(server.port), seconds=30)
        assert client.is_alive()
        client.join(60)
        status, body = answered[0]
        assert status == 200
        assert [r["verdict"] for r in body["results"]] == ["incorrect"] * len(answers)
        assert server.process.wait(timeout=60) == 0, server.log.read_text()
    log = SubmissionStore(server.database_url, read_only=True)
    assert sorted(s.answer for s in log.rows("calc1-week2")) == sorted(answers)
    assert not [p for p in server.spool.glob("*.jsonl") if not p.name.startswith("lock")]


# -------------------------------------------------------------------- a failing database


def _fill_up(store: SubmissionStore) -> Callable[[], None]:
    """Make the SQLite file "full": every new connection may not grow it by a single page.
    Returns the repair."""
    def no_more_pages(dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {int(pages)}")
        cursor.close()

    event.listen(store.engine, "connect", no_more_pages)
    store.engine.dispose()  # pooled connections reconnect, under the limit

    def repair() -> None:
        event.remove(store.engine, "connect", no_more_pages)
        store.engine.dispose()

    return repair


@pytest.mark.parametrize("fault", ["full", "missing"])
def test_grading_goes_on_while_the_database_fails_and_nothing_is_lost(
        tmp_path: Path, fault: str) -> None:
    folder = tmp_path / "db"
    if fault == "full":
        folder.mkdir()  # "missing": the database's folder is not there when the service starts
    url = f"sqlite:///{folder / 'log.db'}"
    # Long answers (too long: invalid, still logged) need new pages, which a full file refuses.
    answers = [f"{i}*x+" + "x+" * 2000 + "x" for i in range(4)] + ["2 + 3*x*x", "3*x^2", "3x"]
    before: list[str] = []
    with serving(tmp_path, database_url=url) as client:
        store: SubmissionStore = client.app.state.service.store  # type: ignore[attr-defined]
        repair: Callable[[], None]
        if fault == "full":
            before.append("x")
            assert grade(client, "x").status_code == 200  # the table and a first row
            assert store.flush()
            repair = _fill_up(store)
        else:
            repair = folder.mkdir
        for answer in answers:
            response = grade(client, answer)
            assert response.status_code == 200
            assert response.json()["verdict"] in ("correct", "incorrect", "invalid")
        wait_until(lambda: health(client)["detail"]["store"]["spooled"] == len(answers))
        failing = health(client)
        assert failing["status"] == "degraded"
        assert failing["reason"].startswith("the submissions database is failing")
        assert f"{len(answers)} submissions spooled to disk" in failing["reason"]
        repair()
        wait_until(lambda: health(client)["status"] == "ok")  # flushed by the store itself
        assert "reason" not in health(client)
    rows = list(SubmissionStore(url, read_only=True).rows("calc1-week2"))
    assert sorted(r.answer for r in rows) == sorted(before + answers)  # each exactly once
    assert not list((tmp_path / "var" / "spool").glob("spool-*"))
