"""The JSON API under /api/v1: preview, grade, check, batch and health.

Learner mistakes are answers (200 with `ok: false` or verdict `invalid`), malformed requests are
422 and unknown questions 404. Checks run in the grading pool under the time budget; the reference
of a quiz question never appears in a response.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request

from ..errors import InputError
from ..keys import AnswerKey, Question, UnknownQuestion
from ..language.preview import preview
from .grading import GradingPool, PoolClosed
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

__all__ = ["ServiceState", "router"]


@dataclass
class ServiceState:
    """What the routes share: built once at start by the app factory."""

    settings: Settings
    keys: dict[str, AnswerKey]
    pool: GradingPool
    store: Any = None  # a SubmissionStore, when recording
    started: float = field(default_factory=time.time)
    preview: Callable[..., PreviewResponse] = field(init=False)

    def __post_init__(self) -> None:
        # Learners send the same answers again and again (and preview before they submit):
        # the preview of a text is computed once per server, in a bounded cache.
        self.preview = functools.lru_cache(maxsize=10_000)(make_preview)

    def question(self, full_id: str) -> Question:
        quiz, sep, local = full_id.partition("/")
        if not sep or quiz not in self.keys:
            raise UnknownQuestion(f"unknown question {full_id!r}: name it as <quiz>/<question>")
        return self.keys[quiz].question(local)


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


async def _grade(state: ServiceState, item: dict[str, Any]) -> dict[str, Any]:
    try:
        return await state.pool.grade(item)
    except PoolClosed:
        raise HTTPException(503, "the grader is shutting down") from None


def _response(state: ServiceState, record: dict[str, Any], answer: str, allow_list: bool,
              variables: tuple[str, ...]) -> GradeResponse:
    return GradeResponse(
        verdict=record["verdict"], score=record["score"], feedback=record.get("feedback"),
        error=record.get("error"),
        preview=state.preview(answer, allow_list=allow_list, variables=variables),
    )


async def grade_question(state: ServiceState, body: GradeRequest) -> GradeResponse:
    try:
        question = state.question(body.question)
    except UnknownQuestion as exc:
        raise HTTPException(404, exc.message) from None
    started = time.perf_counter()
    record = await _grade(state, question.grading_item(body.answer))
    if state.store is not None:
        state.store.record_grade(question, body.answer, record,
                                 time.perf_counter() - started)
    variables = tuple(question.options.get("variables", {}))
    return _response(state, record, body.answer, question.options.get("list") is not None,
                     variables)


async def check_pair(state: ServiceState, body: CheckRequest) -> GradeResponse:
    item = {"reference": body.reference, "answer": body.answer, "options": body.options}
    record = await _grade(state, item)
    options = body.options if isinstance(body.options, dict) else {}
    variables = options.get("variables")
    names = tuple(variables) if isinstance(variables, dict) else ()
    return _response(state, record, body.answer, options.get("list") is not None, names)


@router.post("/grade", response_model=GradeResponse, response_model_exclude_none=True,
             responses={404: {"description": "Unknown quiz or question"}})
async def grade_route(body: GradeRequest, state: State) -> GradeResponse:
    """Grade an answer to a quiz question. The reference answer never leaves the server."""
    return await grade_question(state, body)


@router.post("/check", response_model=GradeResponse, response_model_exclude_none=True)
async def check_route(body: CheckRequest, state: State) -> GradeResponse:
    """Grade an answer against a reference given in the request."""
    return await check_pair(state, body)


@router.post("/grade/batch", response_model=BatchResponse, response_model_exclude_none=True)
async def batch_route(body: BatchRequest, state: State) -> BatchResponse:
    """Several grade or check items at once; results in the same order."""
    if len(body.items) > state.settings.max_batch_items:
        raise HTTPException(422, f"at most {state.settings.max_batch_items} items per batch")

    async def one(item: GradeRequest | CheckRequest) -> GradeResponse:
        if isinstance(item, GradeRequest):
            try:
                return await grade_question(state, item)
            except HTTPException as exc:  # an unknown question is that item's error
                return GradeResponse(verdict="error", score=0.0, feedback=str(exc.detail),
                                     error={"code": "unknown_question",
                                            "message": str(exc.detail)})
        return await check_pair(state, item)

    return BatchResponse(results=list(await asyncio.gather(*(one(i) for i in body.items))))


@router.get("/health", response_model=Health)
async def health_route(state: State) -> Health:
    """`ok`, or `degraded` with the reason (e.g. the submissions database is failing)."""
    detail: dict[str, Any] = {"quizzes": sorted(state.keys), **state.pool.stats}
    status: Literal["ok", "degraded"] = "ok"
    if not state.pool.alive:
        status = "degraded"
        detail["grading"] = "stopped: checks cannot run (see the server log)"
    if state.store is not None:
        store_status = state.store.status()
        detail["store"] = store_status
        if store_status.get("status") != "ok":
            status = "degraded"
    return Health(status=status, detail=detail)
