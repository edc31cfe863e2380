"""Repeated answers are answered from the event loop's verdict cache; new ones reach a worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mathgrader.service.api import Graded, ServiceState, VerdictCache
from mathgrader.service.app import create_app
from mathgrader.service.models import PreviewResponse
from mathgrader.service.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class Counting:
    """Wraps the pool's `grade`: counts the items that reach the workers, or answers itself."""

    def __init__(self, grade: Any, answer: dict[str, Any] | None = None) -> None:
        self.grade, self.answer = grade, answer
        self.items: list[dict[str, Any]] = []

    async def __call__(self, item: dict[str, Any]) -> dict[str, Any]:
        self.items.append(item)
        if self.answer is not None:
            return dict(self.answer)
        result: dict[str, Any] = await self.grade(item)
        return result


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    var = tmp_path_factory.mktemp("var")
    settings = Settings(keys=EXAMPLES, var_dir=var, workers=1, record=False)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def workers(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> Counting:
    state: ServiceState = client.app.state.service  # type: ignore[attr-defined]
    counting = Counting(state.pool.grade)
    monkeypatch.setattr(state.pool, "grade", counting)
    return counting


def grade(client: TestClient, answer: str, question: str = "calc1-week2/power-rule") -> Any:
    response = client.post("/api/v1/grade", json={"question": question, "answer": answer})
    assert response.status_code == 200
    return response.json()


def test_a_repeated_answer_is_checked_once(client: TestClient, workers: Counting) -> None:
    first = grade(client, "2 + 3*x*x")
    again = grade(client, "2 + 3*x*x")
    assert first == again
    assert first["verdict"] == "correct"
    assert first["preview"]["ok"] is True
    assert len(workers.items) == 1


def test_new_spelling_other_question_and_options_are_new_checks(client: TestClient,
                                                                workers: Counting) -> None:
    grade(client, "3*x^2")
    grade(client, " 3*x^2")  # the same value, typed differently: its own check
    grade(client, "3*x^2", "calc1-week2/antiderivative")
    assert len(workers.items) == 3
    loose = {"reference": "1", "answer": "1.04", "options": {"relative_tolerance": 0.05}}
    strict = {"reference": "1", "answer": "1.04", "options": {}}
    assert client.post("/api/v1/check", json=loose).json()["verdict"] == "correct"
    assert client.post("/api/v1/check", json=strict).json()["verdict"] == "incorrect"
    assert client.post("/api/v1/check", json=loose).json()["verdict"] == "correct"
    assert len(workers.items) == 5


def test_timeouts_are_never_kept(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    state: ServiceState = client.app.state.service  # type: ignore[attr-defined]
    timeout = {"verdict": "timeout", "score": 0.0, "feedback": "too slow",
               "error": {"code": "timeout", "message": "too slow"}}
    counting = Counting(state.pool.grade, answer=timeout)
    monkeypatch.setattr(state.pool, "grade", counting)
    assert grade(client, "x^3 + 2*x + 0")["verdict"] == "timeout"
    assert grade(client, "x^3 + 2*x + 0")["verdict"] == "timeout"
    assert len(counting.items) == 2


def test_batch_items_share_the_cache(client: TestClient, workers: Counting) -> None:
    item = {"question": "calc1-week2/chain-rule", "answer": "cos(x^2)*2*x"}
    single = grade(client, item["answer"], item["question"])
    results = client.post("/api/v1/grade/batch", json={"items": [item, item]}).json()["results"]
    assert results == [single, single]
    assert len(workers.items) == 1


def test_the_cache_is_bounded_and_keeps_the_recent() -> None:
    cache = VerdictCache(size=2)
    shown = PreviewResponse(ok=True, text="x")
    for n in range(3):
        cache.put(n, Graded.render({"verdict": "correct", "score": 1.0}, shown))
    assert len(cache) == 2
    assert cache.get(0) is None
    assert cache.get(2) is not None
    cache.put(3, Graded.render({"verdict": "error", "score": 0.0}, shown))
    assert cache.get(3) is None
