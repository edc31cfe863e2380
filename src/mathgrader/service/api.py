"""The JSON API under /api/v1: preview, grade, check, batch and health.

Learner mistakes are answers (200 with `ok: false` or verdict `invalid`), malformed requests are
422 and unknown questions 404. Checks run in the grading pool under the time budget; the reference
of a quiz question never appears in a response.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from ..errors import InputError
from ..keys import AnswerKey, Question, UnknownQuestion
from ..language.preview import preview
from .grading import GradingPool, GradingTimeout, PoolClosed
from .models import (
    BatchRequest,
    BatchResponse,
    CheckRequest,
    ErrorInfo,
    GradeRequest,
    GradeResponse,
    Health,
    PreviewRequest,
    PreviewResponse,
)
from .settings import Settings

__all__ = ["ServiceState", "VerdictCache", "router"]

# Verdicts that depend only on (reference, options, answer): the ones worth remembering.
_CACHEABLE = frozenset({"correct", "incorrect", "invalid"})
# Longer texts are previewed and graded afresh every time, never cached: any length that fits
# in a body is answered (the language refuses it as `too_long` before doing any work), and the
# caches would otherwise hold up to a megabyte a key.
MAX_CACHED_TEXT = 10_000


@dataclass(frozen=True, slots=True)
class Graded:
    """A grading result (`verdict`, `score`, `feedback`, `error`) and the JSON of the
    `GradeResponse` that shows it, rendered once: a repeated answer is sent as is."""

    record: dict[str, Any]
    body: bytes

    @classmethod
    def render(cls, record: dict[str, Any], preview: PreviewResponse) -> Graded:
        shown = {name: record.get(name) for name in ("verdict", "score", "feedback", "error")}
        response = GradeResponse.model_validate({**shown, "preview": preview})
        # What FastAPI sends for this route (response_model_exclude_none), made once.
        return cls(shown, response.model_dump_json(exclude_none=True).encode())

    def json_response(self) -> Response:
        return Response(self.body, media_type="application/json")

    def response(self) -> GradeResponse:
        return GradeResponse.model_validate_json(self.body)


class VerdictCache:
    """Results of items a grading worker has already checked, the most recent `size` kept.

    A check is deterministic per (reference, options, answer): the sample points come from the
    options' seed. So a repeated answer (most answers, in a quiz) is answered here, in the event
    loop, without a round trip to a worker; a first-time answer always runs in a worker under
    the time budget. Timeouts and the pool's own failures are never kept.
    """

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self.hits = self.misses = 0
        self._data: OrderedDict[Hashable, Graded] = OrderedDict()

    def get(self, key: Hashable) -> Graded | None:
        graded = self._data.get(key)
        if graded is None:
            self.misses += 1
            return None
        self.hits += 1
        self._data.move_to_end(key)
        return graded

    def put(self, key: Hashable, graded: Graded) -> None:
        if graded.record.get("verdict") not in _CACHEABLE:
            return
        self._data[key] = graded
        if len(self._data) > self.size:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


@dataclass
class ServiceState:
    """What the routes share: built once at start by the app factory."""

    settings: Settings
    keys: dict[str, AnswerKey]
    pool: GradingPool
    store: Any = None  # a SubmissionStore, when recording
    started: float = field(default_factory=time.time)
    verdicts: VerdictCache = field(init=False)
    _previews: Callable[..., PreviewResponse] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Learners send the same answers again and again (and preview before they submit):
        # the preview of a text is computed once per server, in a bounded cache, and so is
        # the verdict of an answer to a question.
        self._previews = functools.lru_cache(maxsize=10_000)(make_preview)
        self.verdicts = VerdictCache()

    def preview(self, text: str, *, allow_list: bool = False,
                variables: tuple[str, ...] = ()) -> PreviewResponse:
        shown = make_preview if len(text) > MAX_CACHED_TEXT else self._previews
        return shown(text, allow_list=allow_list, variables=variables)

    def question(self, full_id: str) -> Question:
        quiz, sep, local = full_id.partition("/")
        if not sep or quiz not in self.keys:
            raise UnknownQuestion(f"unknown question {full_id!r}: name it as <quiz>/<question>")
        # The key reads a "/" in what it is given as a quiz name; here the quiz is known, so
        # the rest ("power-rule/extra", "../power-rule") is all question id, and unknown.
        if "/" not in local:
            with contextlib.suppress(UnknownQuestion):
                return self.keys[quiz].question(local)
        raise UnknownQuestion(f"unknown question {local!r} in quiz {quiz!r}")


async def get_state(request: Request) -> ServiceState:
    # async: a sync dependency would cost every request a hop through the thread pool.
    state: ServiceState = request.app.state.service
    return state


State = Annotated[ServiceState, Depends(get_state)]

router = APIRouter(prefix="/api/v1", tags=["grading"])


def make_preview(text: str, *, allow_list: bool = False,
                 variables: tuple[str, ...] = ()) -> PreviewResponse:
    try:
        shown = preview(text, allow_list=allow_list, variables=variables)
    except InputError as exc:
        return PreviewResponse(ok=False, error=ErrorInfo(**exc.to_dict()))
    return PreviewResponse(ok=True, **shown.to_dict())


@router.post("/preview", response_model=PreviewResponse, response_model_exclude_none=True)
async def preview_route(body: PreviewRequest, state: State) -> PreviewResponse:
    """How the grader reads an expression: LaTeX, MathML, plain text, variables, warnings."""
    return state.preview(body.expression, allow_list=body.list)


async def _grade(state: ServiceState, key: Hashable, item: Callable[[], dict[str, Any]],
                 answer: str, allow_list: bool, variables: tuple[str, ...]) -> Graded:
    cached = len(answer) <= MAX_CACHED_TEXT
    graded = state.verdicts.get(key) if cached else None
    if graded is not None:
        return graded
    try:
        record = await state.pool.grade(item())
    except GradingTimeout:
        record = _not_checked(state.settings.request_timeout)  # never cached: not a verdict
    except PoolClosed as exc:
        raise HTTPException(503, str(exc), headers=RETRY_LATER) from None
    graded = Graded.render(record, state.preview(answer, allow_list=allow_list,
                                                 variables=variables))
    if cached:
        state.verdicts.put(key, graded)
    return graded


# Checks take milliseconds: a full queue drains in about that many seconds.
RETRY_LATER = {"Retry-After": "2"}


def _not_checked(seconds: float) -> dict[str, Any]:
    message = (f"The grader was too busy to check this answer within {seconds:g} s; "
               "please submit it again.")
    return {"verdict": "timeout", "score": 0.0, "feedback": message,
            "error": {"code": "request_timeout", "message": message}}


def _admit(state: ServiceState, checks: int) -> None:
    """503 at once when the pool is too far behind: an honest "busy, retry" for the learner,
    where waiting out the time limit would end in a `timeout` that blames the answer."""
    if not state.pool.admits(checks, state.settings.max_queue):
        raise HTTPException(503, "The grader is busy right now; please try again in a few "
                                 "seconds.", headers=RETRY_LATER)


async def grade_question(state: ServiceState, body: GradeRequest) -> Graded:
    try:
        question = state.question(body.question)
    except UnknownQuestion as exc:
        raise HTTPException(404, exc.message) from None
    started = time.perf_counter()
    graded = await _grade(state, ("grade", question.quiz, question.id, body.answer),
                          functools.partial(question.grading_item, body.answer), body.answer,
                          question.options.get("list") is not None,
                          tuple(question.options.get("variables", {})))
    if state.store is not None:
        state.store.record_grade(question, body.answer, graded.record,
                                 time.perf_counter() - started)
    if graded.record.get("verdict") == "error":
        # An error here is the key's, not the learner's, and the checker's message about a
        # reference quotes it: the learner gets a plain message (the log keeps the real one).
        graded = Graded.render({**graded.record, "feedback": _KEY_ERROR,
                                "error": {"code": "question_unusable", "message": _KEY_ERROR}},
                               state.preview(body.answer, allow_list=question.options.get(
                                   "list") is not None, variables=tuple(
                                   question.options.get("variables", {}))))
    return graded


_KEY_ERROR = ("This question cannot be graded right now because of a problem with its answer "
              "key; your instructor can see the details.")


async def check_pair(state: ServiceState, body: CheckRequest) -> Graded:
    item = {"reference": body.reference, "answer": body.answer, "options": body.options}
    key = ("check", body.reference, json.dumps(body.options, sort_keys=True), body.answer)
    options = body.options if isinstance(body.options, dict) else {}
    variables = options.get("variables")
    names = tuple(variables) if isinstance(variables, dict) else ()
    return await _grade(state, key, lambda: item, body.answer,
                        options.get("list") is not None, names)


_BUSY: dict[int | str, dict[str, Any]] = {
    503: {"description": "Too busy or shutting down: retry after `Retry-After` seconds"}}


@router.post("/grade", response_model=GradeResponse, response_model_exclude_none=True,
             responses={404: {"description": "Unknown quiz or question"}, **_BUSY})
async def grade_route(body: GradeRequest, state: State) -> Response:
    """Grade an answer to a quiz question. The reference answer never leaves the server."""
    _admit(state, 1)
    return (await grade_question(state, body)).json_response()


@router.post("/check", response_model=GradeResponse, response_model_exclude_none=True,
             responses=_BUSY)
async def check_route(body: CheckRequest, state: State) -> Response:
    """Grade an answer against a reference given in the request."""
    _admit(state, 1)
    return (await check_pair(state, body)).json_response()


@router.post("/grade/batch", response_model=BatchResponse, response_model_exclude_none=True,
             responses=_BUSY)
async def batch_route(body: BatchRequest, state: State) -> BatchResponse:
    """Several grade or check items at once; results in the same order."""
    if len(body.items) > state.settings.max_batch_items:
        raise HTTPException(422, f"at most {state.settings.max_batch_items} items per batch")
    _admit(state, len(body.items))

    async def one(item: GradeRequest | CheckRequest) -> GradeResponse:
        if isinstance(item, GradeRequest):
            try:
                return (await grade_question(state, item)).response()
            except HTTPException as exc:  # an unknown question is that item's error
                if exc.status_code != 404:  # busy or stopping: the whole batch is 503
                    raise
                return GradeResponse(verdict="error", score=0.0, feedback=str(exc.detail),
                                     error={"code": "unknown_question",
                                            "message": str(exc.detail)})
        return (await check_pair(state, item)).response()

    return BatchResponse(results=list(await asyncio.gather(*(one(i) for i in body.items))))


@router.get("/health", response_model=Health, response_model_exclude_none=True)
async def health_route(state: State) -> Health:
    """`ok`, or `degraded` with the reason (e.g. the submissions database is failing)."""
    detail: dict[str, Any] = {"quizzes": sorted(state.keys), **state.pool.stats}
    reasons = []
    if not state.pool.alive:
        detail["grading"] = "stopped: checks cannot run (see the server log)"
        reasons.append("grading has stopped (see the server log)")
    if state.store is not None:
        store_status = state.store.status()
        detail["store"] = store_status
        if store_status.get("status") != "ok":
            reasons.append(store_status.get("reason") or "the submissions log is degraded")
    status: Literal["ok", "degraded"] = "degraded" if reasons else "ok"
    return Health(status=status, reason="; ".join(reasons) or None, detail=detail)
