"""The FastAPI application: API, quiz pages and help center over one grading pool.

`create_app(settings)` loads and lints the answer keys (a key that does not lint is refused at
start), starts the grading pool and the submissions log in the lifespan, and mounts the routers.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from ..errors import MathgraderError
from ..keys import AnswerKey, load_keys
from ..keys.lint import lint_problems
from . import api, pages
from .grading import GradingPool
from .settings import Settings

__all__ = ["KeysRefused", "create_app", "load_checked_keys"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class KeysRefused(MathgraderError):
    """An answer key is unusable or its examples do not hold: the service does not start."""


def load_checked_keys(folder: Path) -> dict[str, AnswerKey]:
    keys = load_keys(folder)
    if not keys:
        raise KeysRefused(f"no answer keys (*.toml) in {folder}")
    problems = lint_problems(keys.values())
    if problems:
        raise KeysRefused("answer keys do not lint:\n" + "\n".join(problems))
    return keys


class BodyLimit:
    """Refuses request bodies over `limit` bytes with 413, declared or streamed."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLarge
            return message

        await self.app(scope, limited, send)


TOO_LARGE = "request body too large"


class _BodyTooLarge(HTTPException):
    """Raised from `receive` once a streamed (chunked) body passes the limit.

    An HTTPException, so that FastAPI passes it on while it reads the body (any other error
    there becomes 400 "There was an error parsing the body") and the app's handler answers it
    with the same 413 and detail as a declared length gets from `_too_large`.
    """

    def __init__(self) -> None:
        super().__init__(413, TOO_LARGE)


async def _too_large(send: Send) -> None:
    body = json.dumps({"detail": TOO_LARGE}, separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class HeadAsGet:
    """Answers HEAD wherever GET works: the same status and headers, no body.

    FastAPI's routes answer only the methods they name, so a HEAD (what uptime monitors send)
    got 405. The app sees a GET; the server still sees the HEAD. A POST-only route answers GET
    with 405 and its Allow header, and so HEAD too.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] in ("http.response.body", "http.response.pathsend"):
                message = {"type": "http.response.body", "body": b"",
                           "more_body": message.get("more_body", False)}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


class SecurityHeaders:
    """nosniff and referrer policy on every response; a CSP and frame denial on pages.

    A plain ASGI middleware: Starlette's BaseHTTPMiddleware costs a task per request.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # /docs and /redoc load their UI from a CDN: no CSP there.
        page_policy = scope.get("path") not in ("/docs", "/redoc")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                names = {name.lower() for name, _ in headers}
                extra = [(b"x-content-type-options", b"nosniff"),
                         (b"referrer-policy", b"same-origin")]
                content_type = dict(headers).get(b"content-type", b"")
                if page_policy and content_type.startswith(b"text/html"):
                    extra += [(b"content-security-policy", _CSP.encode()),
                              (b"x-frame-options", b"DENY")]
                headers += [(name, value) for name, value in extra if name not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    keys = load_checked_keys(settings.keys)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = GradingPool(workers=settings.workers, timeout=settings.timeout,
                           grade_fn=settings.grade_fn,
                           request_timeout=settings.request_timeout)
        pool.start()
        store = _open_store(settings) if settings.record else None
        app.state.service = api.ServiceState(settings, keys, pool, store)
        try:
            yield
        finally:
            # uvicorn lets requests in flight finish before it gets here; under a server that
            # does not, their checks still get up to the request time limit. In a thread, so
            # that their answers can be sent meanwhile.
            await asyncio.to_thread(pool.close, settings.request_timeout)
            if store is not None:
                store.close()

    app = FastAPI(
        title="mathgrader",
        version="0.1.0",
        summary="Grades math answers typed by learners.",
        lifespan=lifespan,
    )
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.state.help_center = _help_center()
    app.state.quiz_ids = sorted(keys)
    app.include_router(api.router)
    app.include_router(pages.router)
    _include_help(app)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).with_name("static"))),
              name="static")
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST"], allow_headers=["content-type"])

    # Outermost last: the security headers reach every answer, a 413 included.
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HeadAsGet)
    return app


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """422 with each problem's type, location and message, but not the input.

    FastAPI's own handler echoes the input, and some input cannot be sent back as JSON: a
    `1e999` (infinity), a `NaN` or a lone surrogate (`"\\ud800"`) turned the 422 into a 500.
    """
    problems = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [{"type": _sendable(str(problem.get("type", ""))),
               "loc": [part if isinstance(part, int) else _sendable(str(part))
                       for part in problem.get("loc", ())],
               "msg": _sendable(str(problem.get("msg", "")))}
              for problem in problems]
    return JSONResponse({"detail": detail}, status_code=422)


def _sendable(text: str) -> str:
    # A lone surrogate cannot be encoded as UTF-8: shown as its escape instead.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _help_center() -> Any:
    from .help import HelpCenter

    return HelpCenter.from_seeds()


def _include_help(app: FastAPI) -> None:
    from .help_routes import router

    app.include_router(router)


def _open_store(settings: Settings) -> Any:
    from .store import SubmissionStore

    var = settings.var_dir.resolve()
    var.mkdir(parents=True, exist_ok=True)
    url = settings.database_url or os.environ.get("MATHGRADER_DATABASE_URL") or (
        f"sqlite:///{var / 'submissions.db'}")
    return SubmissionStore(url, spool_dir=var / "spool")
