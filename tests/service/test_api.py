"""The HTTP API: every route and error path, through FastAPI's TestClient (workers included)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mathgrader.service.api import ServiceState
from mathgrader.service.app import HeadAsGet, KeysRefused, create_app
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


@pytest.mark.parametrize(("question", "detail"), [
    ("calc1-week2/power-rule/extra", "unknown question 'power-rule/extra' in quiz 'calc1-week2'"),
    ("calc1-week2/../power-rule", "unknown question '../power-rule' in quiz 'calc1-week2'"),
    ("calc1-week2/nope", "unknown question 'nope' in quiz 'calc1-week2'"),
    ("calc1-week2/", "unknown question '' in quiz 'calc1-week2'"),
    ("nope/power-rule", "unknown question 'nope/power-rule': name it as <quiz>/<question>"),
])
def test_an_unknown_question_in_a_known_quiz_is_named_as_sent(client: TestClient, question: str,
                                                              detail: str) -> None:
    response = client.post("/api/v1/grade", json={"question": question, "answer": "x"})
    assert response.status_code == 404
    assert response.json() == {"detail": detail}
    item = client.post("/api/v1/grade/batch",
                       json={"items": [{"question": question, "answer": "x"}]})
    assert item.json()["results"][0]["error"] == {"code": "unknown_question", "message": detail}


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


def test_a_streamed_body_over_the_limit_gets_the_same_413(client: TestClient) -> None:
    # Chunked (an iterator: no Content-Length), as a browser or httpx streams it.
    chunks = [b'{"expression": "x", "p": "'] + [b"a" * 65_536] * 4 + [b'"}']
    streamed = client.post("/api/v1/preview", content=iter(chunks),
                           headers={"content-type": "application/json"})
    declared = client.post("/api/v1/preview", content=b"".join(chunks),
                           headers={"content-type": "application/json"})
    assert "content-length" not in streamed.request.headers
    assert declared.request.headers["content-length"] == str(len(b"".join(chunks)))
    assert streamed.status_code == declared.status_code == 413
    assert streamed.json() == declared.json() == {"detail": "request body too large"}
    assert dict(streamed.headers) == dict(declared.headers)
    small = client.post("/api/v1/preview", content=iter([b'{"expression": ', b'"x"}']),
                        headers={"content-type": "application/json"})
    assert small.json()["ok"] is True


GET_PATHS = ["/api/v1/health", "/help", "/help/math-assignments", "/quiz/calc1-week2",
             "/api/v1/help/search?q=gcd", "/", "/help/search?q=gcd", "/help/nope",
             "/quiz/nope", "/static/quiz.js", "/openapi.json"]


@pytest.mark.parametrize("path", GET_PATHS)
def test_head_answers_wherever_get_does(client: TestClient, path: str) -> None:
    get = client.get(path)
    head = client.head(path)
    assert head.status_code == get.status_code != 405
    assert head.content == b""
    assert dict(head.headers) == dict(get.headers)


@pytest.mark.parametrize("path", ["/api/v1/preview", "/api/v1/grade", "/api/v1/check",
                                  "/api/v1/grade/batch"])
def test_head_on_a_post_only_route_is_405_with_allow(client: TestClient, path: str) -> None:
    response = client.head(path)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_head_sends_the_headers_of_get_and_no_body() -> None:
    # TestClient drops a HEAD response's body itself: the middleware is driven directly here.
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["method"])
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"10")]})
        await send({"type": "http.response.body", "body": b"01234", "more_body": True})
        await send({"type": "http.response.body", "body": b"56789"})

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "HEAD", "path": "/"}
    asyncio.run(HeadAsGet(app)(scope, receive, send))
    assert seen == ["GET"] and scope["method"] == "HEAD"  # the server's scope is left as sent
    assert sent[0]["headers"] == [(b"content-length", b"10")]
    assert [m.get("body") for m in sent[1:]] == [b"", b""]
    assert [m.get("more_body") for m in sent[1:]] == [True, False]


LONG = 150_000  # characters: far past the language's 2,000, well inside this client's body limit


@pytest.mark.parametrize("length", [10_001, LONG])
def test_learner_text_of_any_length_gets_the_too_long_error(client: TestClient,
                                                             length: int) -> None:
    text = "x" * length
    shown = client.post("/api/v1/preview", json={"expression": text})
    assert shown.status_code == 200
    assert shown.json()["ok"] is False
    assert shown.json()["error"]["code"] == "too_long"
    for path, payload in [("/api/v1/grade", {"question": "calc1-week2/power-rule",
                                             "answer": text}),
                          ("/api/v1/check", {"reference": "x", "answer": text})]:
        graded = client.post(path, json=payload)
        assert graded.status_code == 200
        assert graded.json()["verdict"] == "invalid"
        assert graded.json()["error"]["code"] == "too_long"
        assert graded.json()["preview"]["error"]["code"] == "too_long"
    batch = client.post("/api/v1/grade/batch", json={"items": [{"reference": "x",
                                                                "answer": text}]})
    assert batch.json()["results"][0]["error"]["code"] == "too_long"


def test_long_texts_are_answered_but_not_cached(client: TestClient) -> None:
    # A cache of texts up to the body limit would hold a megabyte a key.
    state: ServiceState = client.app.state.service  # type: ignore[attr-defined]
    verdicts = len(state.verdicts)
    previews = state._previews.cache_info().currsize  # type: ignore[attr-defined]
    for n in range(3):
        text = "y" * (LONG - n)
        graded = client.post("/api/v1/check", json={"reference": "x", "answer": text})
        assert graded.json()["verdict"] == "invalid"
        shown = client.post("/api/v1/preview", json={"expression": text})
        assert shown.json()["error"]["end_column"] == LONG - n + 1
    assert len(state.verdicts) == verdicts
    assert state._previews.cache_info().currsize == previews  # type: ignore[attr-defined]
    client.post("/api/v1/check", json={"reference": "x", "answer": "y" * 10_000})
    assert len(state.verdicts) == verdicts + 1  # up to 10,000 characters, kept as before


def test_the_other_bounds_stay(client: TestClient) -> None:
    reference = client.post("/api/v1/check", json={"reference": "x" * 10_001, "answer": "x"})
    assert reference.status_code == 422
    assert reference.json()["detail"][0]["type"] == "string_too_long"
    question = client.post("/api/v1/grade", json={"question": "q/" * 200, "answer": "x"})
    assert question.status_code == 422
    too_big = client.post("/api/v1/preview", json={"expression": "x" * 200_001})
    assert too_big.status_code == 413


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
