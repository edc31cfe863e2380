"""The HTTP API: every route and error path, through FastAPI's TestClient (workers included)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mathgrader.service.app import KeysRefused, create_app
from mathgrader.service.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    var = tmp_path_factory.mktemp("var")
    settings = Settings(keys=EXAMPLES, var_dir=var / "var", workers=1, timeout=2.0,
                        database_url=f"sqlite:///{var}/log.db", max_body_bytes=200_000)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_health(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_preview_ok_and_error(client: TestClient) -> None:
    ok = client.post("/api/v1/preview", json={"expression": "x/2*y"}).json()
    assert ok["ok"] is True
    assert ok["variables"] == ["x", "y"]
    assert ok["mathml"].startswith("<math")
    bad = client.post("/api/v1/preview", json={"expression": "3x"}).json()
    assert bad == {"ok": False, "variables": [], "warnings": [], "error": {
        "code": "implicit_multiplication", "message": bad["error"]["message"],
        "column": 2, "end_column": 3, "hint": "write 3*x"}}


def test_preview_list(client: TestClient) -> None:
    assert client.post("/api/v1/preview", json={"expression": "2, -3"}).json()["ok"] is False
    shown = client.post("/api/v1/preview", json={"expression": "2, -3", "list": True}).json()
    assert shown["ok"] is True


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [("2 + 3*x^2", "correct"), ("3*x^2", "incorrect"), ("3x^2 + 2", "invalid")],
)
def test_grade_question(client: TestClient, answer: str, verdict: str) -> None:
    response = client.post("/api/v1/grade",
                           json={"question": "calc1-week2/power-rule", "answer": answer})
    assert response.status_code == 200
    body = response.json()
    assert body["verdict"] == verdict
    assert "preview" in body


def test_grade_never_sends_the_reference(client: TestClient) -> None:
    response = client.post("/api/v1/grade",
                           json={"question": "calc1-week2/power-rule", "answer": "0"})
    text = response.text
    assert "3*x^2 + 2" not in text
    assert "3 \\\\cdot x^{2} + 2" not in text


@pytest.mark.parametrize("question", ["calc1-week2/nope", "nope/power-rule", "power-rule", ""])
def test_unknown_question_is_404(client: TestClient, question: str) -> None:
    response = client.post("/api/v1/grade", json={"question": question, "answer": "1"})
    assert response.status_code == 404


def test_check(client: TestClient) -> None:
    body = client.post("/api/v1/check", json={
        "reference": "1", "answer": "1.04", "options": {"relative_tolerance": 0.05}}).json()
    assert body["verdict"] == "correct"
    body = client.post("/api/v1/check", json={
        "reference": "1", "answer": "1", "options": {"colour": "red"}}).json()
    assert body["verdict"] == "error"


def test_batch_keeps_order(client: TestClient) -> None:
    items = [
        {"question": "calc1-week2/power-rule", "answer": "3*x^2+2"},
        {"reference": "x", "answer": "2*x"},
        {"question": "calc1-week2/missing", "answer": "1"},
        {"reference": "x", "answer": "x"},
    ]
    results = client.post("/api/v1/grade/batch", json={"items": items}).json()["results"]
    assert [r["verdict"] for r in results] == ["correct", "incorrect", "error", "correct"]


@pytest.mark.parametrize(
    "payload",
    [{}, {"question": "q"}, {"answer": 3, "question": "a/b"}, [], "text"],
    ids=["empty", "no-answer", "number-answer", "list", "string"],
)
def test_malformed_requests_are_422(client: TestClient, payload: object) -> None:
    assert client.post("/api/v1/grade", json=payload).status_code == 422


def test_body_limit(client: TestClient) -> None:
    response = client.post("/api/v1/preview",
                           content=b'{"expression": "' + b"1+" * 150_000 + b'1"}',
                           headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_hostile_answer_is_answered_within_budget(client: TestClient) -> None:
    hostile = client.post("/api/v1/check", json={"reference": "1", "answer": "9^9^9^9"})
    assert hostile.json()["verdict"] == "invalid"
    after = client.post("/api/v1/check", json={"reference": "x", "answer": "x"})
    assert after.json()["verdict"] == "correct"


def test_pages(client: TestClient) -> None:
    home = client.get("/")
    assert home.status_code == 200
    assert "/quiz/calc1-week2" in home.text and "/help" in home.text
    quiz = client.get("/quiz/calc1-week2")
    assert quiz.status_code == 200
    assert "Differentiate x^3 + 2*x" in quiz.text
    assert "3*x^2 + 2" not in quiz.text  # the reference stays on the server
    assert "Content-Security-Policy" in quiz.headers
    assert client.get("/quiz/nope").status_code == 404


def test_openapi_lists_the_contract_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/preview", "/api/v1/grade", "/api/v1/check", "/api/v1/grade/batch",
                 "/api/v1/health"):
        assert path in paths


def test_keys_that_do_not_lint_are_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text(
        '[quiz]\nid = "q"\n[[questions]]\nid = "a"\nanswer = "2*x"\nreject = ["x*2"]\n')
    with pytest.raises(KeysRefused, match="reject 'x\\*2' graded correct"):
        create_app(Settings(keys=tmp_path))
