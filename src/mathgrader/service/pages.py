"""Server-rendered pages: the front page and the quiz pages (the help center has its own)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from .api import State

__all__ = ["router", "templates"]

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, state: State) -> HTMLResponse:
    quizzes = sorted(state.keys.values(), key=lambda key: key.title)
    return templates.TemplateResponse(request, "index.html", {"quizzes": quizzes})


@router.get("/quiz/{quiz}", response_class=HTMLResponse)
def quiz_page(request: Request, quiz: str, state: State) -> HTMLResponse:
    key = state.keys.get(quiz)
    if key is None:
        raise HTTPException(404, f"no quiz {quiz!r}")
    # Only ids and prompts reach the page: references stay on the server.
    questions = [{"id": q.id, "full_id": q.full_id, "prompt": q.prompt,
                  "list": q.options.get("list") is not None} for q in key.questions]
    return templates.TemplateResponse(
        request, "quiz.html", {"quiz": key, "questions": questions})
