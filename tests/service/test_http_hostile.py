"""Hostile HTTP: bodies, ids, paths and headers nobody should send, learner text that looks like
markup or terminal control, and SQL that is only ever parameterized.

Every hostile request gets a clear 4xx JSON error or an honest verdict: never a 5xx, never a
hang, and the server keeps answering. Headers are bounded by the served process itself (a live
`mathgrader serve`), the rest goes through TestClient.
"""

from __future__ import annotations

import ast
import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from mathgrader.cli import app as cli_app
from mathgrader.service import help as help_module
from mathgrader.service.app import create_app
from mathgrader.service.help import HelpCenter, fts5_available
from mathgrader.service.server import MAX_HEAD_BYTES
from mathgrader.service.settings import Settings
from mathgrader.service.store import Submission, SubmissionStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
from service_helpers import EXAMPLES, Server, live_server  # noqa: E402

SRC = Path(__file__).resolve().parents[2] / "src" / "mathgrader"
STATIC = SRC / "service" / "static"
QUESTION = "calc1-week2/power-rule"
LIMIT = 1_000_000  # the default body limit, which the client below keeps


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    var = tmp_path_factory.mktemp("hostile")
    settings = Settings(keys=EXAMPLES, var_dir=var / "var", workers=1,
                        database_url=f"sqlite:///{var}/log.db")
    assert settings.max_body_bytes == LIMIT
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def _json(text: str) -> bytes:
    return text.encode()


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


# (id, path, body, content type, expected status)
BODIES: list[tuple[str, str, bytes, str | None, int]] = [
    ("invalid-utf8", "/api/v1/preview", b'{"expression": "x\xff\xfe"}', "application/json", 400),
    ("invalid-utf8-answer", "/api/v1/grade",
     b'{"question": "' + QUESTION.encode() + b'", "answer": "\xc3"}', "application/json", 400),
    ("lone-surrogate", "/api/v1/check", _json('{"reference": "x", "answer": "\\ud800"}'),
     "application/json", 422),
    ("lone-surrogate-key", "/api/v1/check",
     _json('{"reference": "x", "answer": "x", "options": {"\\udfff": 1}}'),
     "application/json", 422),
    ("text-plain", "/api/v1/preview", _json('{"expression": "x"}'), "text/plain", 422),
    ("no-content-type", "/api/v1/preview", _json('{"expression": "x"}'), None, 422),
    ("form", "/api/v1/preview", b"expression=x", "application/x-www-form-urlencoded", 422),
    ("not-json", "/api/v1/preview", b"{expression: x}", "application/json", 422),
    ("nested-10000", "/api/v1/preview", _json(f'{{"expression": {_deep(10_000)}}}'),
     "application/json", 400),
    ("options-nested-500", "/api/v1/check",
     _json(f'{{"reference": "x", "answer": "x", "options": {{"feedback": {_deep(500)}}}}}'),
     "application/json", 422),
    ("infinite-expression", "/api/v1/preview", _json('{"expression": 1e999}'),
     "application/json", 422),
    ("nan-expression", "/api/v1/preview", _json('{"expression": NaN}'), "application/json", 422),
    ("infinite-tolerance", "/api/v1/check",
     _json('{"reference": "x", "answer": "x", "options": {"relative_tolerance": 1e999}}'),
     "application/json", 200),
    ("nan-tolerance", "/api/v1/check",
     _json('{"reference": "x", "answer": "x", "options": {"absolute_tolerance": NaN}}'),
     "application/json", 200),
    ("100000-digit-number", "/api/v1/check",
     _json('{"reference": "x", "answer": "x", "options": {"seed": ' + "9" * 100_000 + "}}"),
     "application/json", 400),
    ("million-digit-number", "/api/v1/check",
     _json('{"reference": "x", "answer": "x", "options": {"seed": ' + "9" * 10**6 + "}}"),
     "application/json", 413),
    ("number-for-question", "/api/v1/grade",
     _json('{"question": ' + "9" * 4000 + ', "answer": "x"}'), "application/json", 422),
    ("expression-just-over-the-body-limit", "/api/v1/preview",
     _json('{"expression": "' + "1+" * (LIMIT // 2) + '1"}'), "application/json", 413),
    ("batch-over-the-body-limit", "/api/v1/grade/batch",
     _json(json.dumps({"items": [{"reference": "x", "answer": "x" * 9000}] * 120})),
     "application/json", 413),
]


@pytest.mark.parametrize(("path", "body", "content_type", "status"),
                         [case[1:] for case in BODIES], ids=[case[0] for case in BODIES])
def test_hostile_bodies_get_a_clear_answer(client: TestClient, path: str, body: bytes,
                                           content_type: str | None, status: int) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == status, response.text[:300]
    data = response.json()  # JSON in every case, never an HTML or plain-text error
    if status == 200:
        assert data["verdict"] == "error"  # the options are unusable: said so, not a 500
        assert data["error"]["message"]
    else:
        assert data["detail"]
    assert client.get("/api/v1/health").status_code == 200


@pytest.mark.parametrize(("path", "field", "payload"), [
    ("/api/v1/preview", "expression", {}),
    ("/api/v1/grade", "answer", {"question": QUESTION}),
    ("/api/v1/check", "answer", {"reference": "x"}),
])
def test_text_just_under_the_body_limit_is_a_learner_error(client: TestClient, path: str,
                                                           field: str,
                                                           payload: dict[str, Any]) -> None:
    # A learner who pastes a long text is told so (`too_long`), not sent a 422.
    text = "1+" * ((LIMIT - 200) // 2) + "1"
    response = client.post(path, json={**payload, field: text})
    assert response.status_code == 200, response.text[:300]
    data = response.json()
    error = data["error"] if path.endswith("preview") else data["preview"]["error"]
    assert data.get("ok", False) is False and data.get("verdict", "invalid") == "invalid"
    assert error["code"] == "too_long" and error["end_column"] == len(text) + 1


@pytest.mark.parametrize("path", ["/api/v1/preview", "/api/v1/grade", "/api/v1/check"])
def test_a_validation_error_never_echoes_what_it_cannot_encode(client: TestClient,
                                                               path: str) -> None:
    response = client.post(path, content=b'{"expression": "\\ud800", "answer": 1e999}',
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    for problem in response.json()["detail"]:
        assert set(problem) == {"type", "loc", "msg"}


@pytest.mark.parametrize(("path", "payload", "key"), [
    ("/api/v1/preview", {"expression": "x\u0000+1"}, "error"),
    ("/api/v1/grade", {"question": QUESTION, "answer": "3*x^2+2\u0000"}, "error"),
    ("/api/v1/check", {"reference": "x", "answer": "\u0000"}, "error"),
    ("/api/v1/grade", {"question": QUESTION, "answer": "1" * 9_999}, "error"),
    ("/api/v1/grade", {"question": QUESTION, "answer": "<script>alert(1)</script>"}, "error"),
], ids=["nul-preview", "nul-grade", "nul-check", "long-answer", "script-answer"])
def test_odd_answers_are_honest_invalid_answers(client: TestClient, path: str,
                                                payload: dict[str, Any], key: str) -> None:
    response = client.post(path, json=payload)
    assert response.status_code == 200
    data = response.json()
    assert data.get("verdict", "invalid") == "invalid" and data.get("ok") is not True
    assert data[key]["code"] and data[key]["message"]
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("question", [
    "../../etc/passwd", "calc1-week2/../algebra-week5/roots", "%00", "calc1-week2/%2e%2e",
    "calc1-week2/power-rule\u0000", "\u00fc/\u00df", "calc1-week2/power-rule\u202e", "/", "//",
])
def test_odd_question_ids_are_unknown_questions(client: TestClient, question: str) -> None:
    response = client.post("/api/v1/grade", json={"question": question, "answer": "x"})
    assert response.status_code == 404
    assert "unknown" in response.json()["detail"]


@pytest.mark.parametrize(("path", "status"), [
    ("/quiz/..%2F..%2Fetc%2Fpasswd", 404), ("/quiz/%00", 404), ("/quiz/%ff", 404),
    ("/quiz/\u00fc", 404), ("/static/..%2Fapp.py", 404), ("/static/%2e%2e/app.py", 404),
    ("/static/../app.py", 404), ("/help/%00", 404), ("/help/..%2F..%2Fapp.py", 404),
    ("/help/search?q=%ff%fe%00", 200), ("/api/v1/help/search?q=%ed%a0%80", 200),
])
def test_odd_paths(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert "create_app" not in response.text  # no source file served


def test_the_server_still_answers(client: TestClient) -> None:
    assert client.get("/api/v1/health").json()["status"] == "ok"
    assert client.post("/api/v1/check", json={"reference": "x", "answer": "x"}).json()[
        "verdict"] == "correct"


# ------------------------------------------------------------------------ headers, served


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with live_server(tmp_path_factory.mktemp("served")) as served:
        yield served


def _raw(server: Server, head: bytes) -> bytes:
    """Send a request head; the response, or what happened to the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        try:
            sock.sendall(head)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
            return b"".join(chunks)
        except (ConnectionResetError, BrokenPipeError):
            return b"connection reset"  # closed on us before we were done sending


@pytest.mark.slow
@pytest.mark.parametrize("head", [
    b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4_000_000 + b"\r\n\r\n",
    b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n"
    + b"".join(b"X-%d: y\r\n" % i for i in range(100_000)) + b"\r\n",
    b"GET /api/v1/health?" + b"q" * 4_000_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
], ids=["one-huge-header", "100000-headers", "huge-url"])
def test_header_bombs_are_refused_and_the_server_goes_on(server: Server, head: bytes) -> None:
    answer = _raw(server, head)
    assert answer.startswith(b"HTTP/1.1 431 ") or answer == b"connection reset", answer[:200]
    assert server.get("/api/v1/health")["status"] == "ok"


@pytest.mark.slow
def test_ordinary_large_headers_still_pass(server: Server) -> None:
    cookies = b"; ".join(b"c%d=%s" % (i, b"v" * 60) for i in range(120))  # ~8 KB, like a browser
    head = (b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: " + cookies
            + b"\r\n\r\n")
    assert len(head) < MAX_HEAD_BYTES
    assert _raw(server, head).startswith(b"HTTP/1.1 200 ")


@pytest.mark.slow
def test_a_chunked_body_over_the_limit_is_413_as_a_declared_one(server: Server) -> None:
    start, end = b'{"expression": "x", "p": "', b'"}'
    filler = [b"a" * 65_536] * 20  # 1.3 MB, sent chunked: no Content-Length
    headers = {"content-type": "application/json"}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        streamed = http.post("/api/v1/preview", content=iter([start, *filler, end]),
                             headers=headers)
        declared = http.post("/api/v1/preview", content=b"".join([start, *filler, end]),
                             headers=headers)
    assert streamed.request.headers["transfer-encoding"] == "chunked"
    assert streamed.status_code == declared.status_code == 413
    assert streamed.json() == declared.json() == {"detail": "request body too large"}
    assert server.get("/api/v1/health")["status"] == "ok"


@pytest.mark.slow
@pytest.mark.parametrize(("path", "status"), [
    ("/api/v1/health", 200), ("/help", 200), ("/help/math-assignments", 200),
    ("/quiz/calc1-week2", 200), ("/api/v1/help/search?q=gcd", 200), ("/", 200),
    ("/api/v1/preview", 405),
])
def test_served_head_answers_like_get_without_a_body(server: Server, path: str,
                                                     status: int) -> None:
    raw = _raw(server, b"HEAD " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
               b"Connection: close\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d " % status), raw[:200]
    assert body == b""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        get = http.get(path)
    fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
    assert int(fields[b"content-length"]) == len(get.content) > 0
    if status == 405:
        assert fields[b"allow"] == b"POST"


# ------------------------------------------------------------- learner text stays text


def test_pages_insert_learner_text_as_text_only() -> None:
    # The quiz page flow is also driven in a real browser (test_browser.py); this covers every
    # script, whatever the browser tests reach.
    sinks = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
             "new Function", "setTimeout(\"", "srcdoc")
    scripts = sorted(STATIC.glob("*.js"))
    assert {p.name for p in scripts} >= {"preview.js", "quiz.js"}
    for script in scripts:
        code = script.read_text()
        for sink in sinks:
            assert sink not in code, f"{script.name} uses {sink}"
        assert "textContent" in code or "createTextNode" in code
        # The one HTML parse: the server's MathML, off-document, then stripped (safeMath).
        if "DOMParser" in code:
            assert script.name == "preview.js" and code.count("parseFromString") == 1


def test_help_search_escapes_the_snippet_and_keeps_the_marks(client: TestClient) -> None:
    page = client.get("/help/search", params={"q": "<script>gcd</script>"}).text
    assert "<mark>gcd</mark>" in page
    assert "<script>gcd" not in page and "&lt;script&gt;gcd&lt;/script&gt;" in page


HOSTILE_ANSWERS = ["\x1b[31mred\x1b[0m", "x\x1b]0;pwned\x07", "<script>alert(1)</script>",
                   "[bold]x[/bold]", "2*x\u202e1+"]


def test_the_report_shows_learner_text_without_control_characters(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/log.db"
    with SubmissionStore(url) as store:
        for answer in HOSTILE_ANSWERS:
            for verdict in ("incorrect", "invalid"):
                store.record(Submission("calc1-week2", "power-rule", answer, verdict, 0.0,
                                        error_code="syntax" if verdict == "invalid" else None))
    runner = CliRunner()
    base = ["report", "calc1-week2", "--database-url", url, "--keys", str(EXAMPLES)]
    text = runner.invoke(cli_app, base)
    assert text.exit_code == 0, text.output
    assert "\x1b" not in text.stdout and "\u202e" not in text.stdout and "\x07" not in text.stdout
    assert "\\x1b[31mred\\x1b[0m" in text.stdout and "\\u202e" in text.stdout
    assert "<script>alert(1)</script>" in text.stdout and "[bold]x[/bold]" in text.stdout
    as_json = runner.invoke(cli_app, [*base, "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert "\x1b" not in as_json.stdout  # JSON escapes it; the data stays exact
    question = next(q for q in json.loads(as_json.stdout)["questions"] if q["id"] == "power-rule")
    shown = {e["answer"] for group in question["invalid"] for e in group["examples"]}
    shown |= {group["answer"] for group in question["mistakes"]}
    assert shown == set(HOSTILE_ANSWERS)


# ----------------------------------------------------------------------- SQL parameters


SQL_CALLS = {"text", "execute", "executemany", "executescript", "exec_driver_sql"}


def _formatted_sql(tree: ast.AST) -> list[str]:
    """Calls that pass SQL built by formatting: f-strings (except numbers made with int() or
    float()), `%`, `.format()` or `+` with a variable part. A variable passed as the SQL is
    followed to its assignments in the same function."""
    problems = []
    scopes = [node for node in ast.walk(tree)
              if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Module)]
    for scope in scopes:
        assigned: dict[str, list[ast.expr]] = {}
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
        for node in ast.walk(scope):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = (node.func.attr if isinstance(node.func, ast.Attribute)
                    else node.func.id if isinstance(node.func, ast.Name) else "")
            if name not in SQL_CALLS:
                continue
            sql = node.args[0]
            candidates = assigned.get(sql.id, []) if isinstance(sql, ast.Name) else [sql]
            if any(_built(candidate) for candidate in candidates):
                problems.append(f"line {node.lineno}: {ast.unparse(node)[:80]}")
    return sorted(set(problems))


def _built(expr: ast.expr) -> bool:
    if isinstance(expr, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) and not _number(part.value)
                   for part in expr.values)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod | ast.Add):
        return not (_constant(expr.left) and _constant(expr.right))
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
        return expr.func.attr == "format"
    return False


def _number(expr: ast.expr) -> bool:
    return (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name)
            and expr.func.id in ("int", "float"))


def _constant(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Constant) or (
        isinstance(expr, ast.BinOp) and _constant(expr.left) and _constant(expr.right))


@pytest.mark.parametrize(("code", "flagged"), [
    ('conn.execute(f"SELECT * FROM t WHERE a = \'{name}\'")', True),
    ('conn.execute("SELECT * FROM t WHERE a = \'%s\'" % name)', True),
    ('conn.execute("SELECT * FROM t WHERE a = {}".format(name))', True),
    ('conn.execute(text("SELECT * FROM t WHERE a = " + name))', True),
    ('def f(name):\n    sql = f"DELETE FROM {name}"\n    db.execute(sql, ())', True),
    ('conn.execute("SELECT * FROM t WHERE a = ?", (name,))', False),
    ('conn.execute(text("SELECT :a"), {"a": name})', False),
    ('cursor.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")', False),
    ('def f():\n    sql = "SELECT a FROM t WHERE b MATCH ?"\n    db.execute(sql, (q,))', False),
    ('print(f"{name}")', False),
])
def test_the_sql_scan_finds_formatted_sql(code: str, flagged: bool) -> None:
    assert bool(_formatted_sql(ast.parse(code))) is flagged


def test_sql_is_only_ever_parameterized() -> None:
    sources = sorted(SRC.rglob("*.py"))
    assert len(sources) > 20
    found = {str(path.relative_to(SRC)): problems for path in sources
             if (problems := _formatted_sql(ast.parse(path.read_text())))}
    assert found == {}


@pytest.mark.skipif(not fts5_available(), reason="this SQLite has no FTS5")
def test_help_search_sends_learner_text_as_a_bound_parameter() -> None:
    center = HelpCenter.from_seeds(use_fts=True)
    index = center._index
    assert isinstance(index, help_module._FtsIndex)
    statements: list[tuple[str, tuple[Any, ...]]] = []

    class Spy:
        def __init__(self, db: Any) -> None:
            self.db = db

        def execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
            statements.append((sql, tuple(params)))
            return self.db.execute(sql, params)

    index._db = Spy(index._db)  # type: ignore[assignment]
    assert center.search("gcd') OR 1=1; DROP TABLE help; --")[0].slug == "math-assignments"
    assert statements
    for sql, params in statements:
        assert "gcd" not in sql and "DROP" not in sql
        assert any("gcd" in str(param) for param in params)
