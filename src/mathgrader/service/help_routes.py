"""The help center's HTTP shell: the article pages, the search page and the search API.

Owns the routes `GET /help`, `GET /help/search`, `GET /help/{slug}` (server-rendered pages) and
`GET /api/v1/help/search` (JSON), the Jinja2 environment they render with (autoescape on) and the
one place a snippet becomes HTML (`highlight`: escaped text, `<mark>` around the matches). The
`HelpCenter` comes from `app.state.help_center`, which the app factory sets.

Queries longer than `MAX_QUERY_CHARS` (200) are cut to that length, not refused: a search box
never answers with an error page, and the API behaves the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape
from pydantic import BaseModel, Field

from ..language.table import CONSTANTS, FUNCTIONS
from .help import MAX_QUERY_CHARS, Article, HelpCenter, SearchResult

__all__ = [
    "HelpCenterDep",
    "HelpSearchHit",
    "HelpSearchResponse",
    "TRY_IT_SLUGS",
    "get_help_center",
    "highlight",
    "router",
    "templates",
]

# Articles that carry the live try-it box and the grader's function reference.
TRY_IT_SLUGS = frozenset({"math-assignments"})
PAGE_RESULTS = 20


def highlight(snippet: str, spans: Sequence[Sequence[int]]) -> Markup:
    """The snippet as HTML: every character escaped, each highlight span wrapped in `<mark>`.

    >>> str(highlight("use <b> or gcd", [(11, 14)]))
    'use &lt;b&gt; or <mark>gcd</mark>'
    """
    out: list[str] = []
    position = 0
    for start, end in sorted((int(s), int(e)) for s, e in spans):
        start, end = max(start, position), min(end, len(snippet))
        if start >= end:
            continue
        out.append(str(escape(snippet[position:start])))
        out.append(f"<mark>{escape(snippet[start:end])}</mark>")
        position = end
    out.append(str(escape(snippet[position:])))
    return Markup("".join(out))


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(Path(__file__).with_name("templates"))),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["highlight"] = highlight
    return env


templates = Jinja2Templates(env=_environment())


def get_help_center(request: Request) -> HelpCenter:
    """The help center the app factory built (`app.state.help_center`)."""
    center = getattr(request.app.state, "help_center", None)
    if not isinstance(center, HelpCenter):
        raise RuntimeError("app.state.help_center is not set: set it to HelpCenter.from_seeds()")
    return center


HelpCenterDep = Annotated[HelpCenter, Depends(get_help_center)]
SearchQuery = Annotated[
    str,
    Query(description=f"Words to look for; any text is accepted, cut to {MAX_QUERY_CHARS} "
                      "characters."),
]


class HelpSearchHit(BaseModel):
    slug: str
    title: str
    snippet: str = Field(description="Plain text around the best match (not HTML).")
    score: float = Field(description="Higher is a better match; comparable within one query.")
    highlights: list[tuple[int, int]] = Field(
        default_factory=list,
        description="[start, end) offsets into `snippet` (Unicode code points) of matched words.",
    )


class HelpSearchResponse(BaseModel):
    query: str = Field(description="The query as searched (after cutting to length).")
    results: list[HelpSearchHit]


router = APIRouter(tags=["help"])


def _hits(results: Sequence[SearchResult]) -> list[HelpSearchHit]:
    return [
        HelpSearchHit(
            slug=r.slug, title=r.title, snippet=r.snippet, score=r.score,
            highlights=[(start, end) for start, end in r.highlights],
        )
        for r in results
    ]


@router.get("/api/v1/help/search", response_model=HelpSearchResponse)
def search_api(
    center: HelpCenterDep,
    q: SearchQuery = "",
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> HelpSearchResponse:
    """Help articles ranked for `q`, best first, each with a highlighted plain-text snippet.

    An empty or blank query gives no results (200). Queries over 200 characters are cut.
    """
    query = q[:MAX_QUERY_CHARS]
    return HelpSearchResponse(query=query, results=_hits(center.search(query, limit=limit)))


@router.get("/help", response_class=HTMLResponse, include_in_schema=False)
def help_index(request: Request, center: HelpCenterDep) -> HTMLResponse:
    featured = [a for a in center.articles if a.slug in TRY_IT_SLUGS]
    return templates.TemplateResponse(
        request, "help_index.html", {"articles": center.articles, "featured": featured}
    )


@router.get("/help/search", response_class=HTMLResponse, include_in_schema=False)
def help_search(request: Request, center: HelpCenterDep, q: SearchQuery = "") -> HTMLResponse:
    query = q[:MAX_QUERY_CHARS]
    context = {
        "query": query,
        "truncated": len(q) > MAX_QUERY_CHARS,
        "results": center.search(query, limit=PAGE_RESULTS),
    }
    return templates.TemplateResponse(request, "help_search.html", context)


@router.get("/help/{slug}", response_class=HTMLResponse, include_in_schema=False)
def help_article(request: Request, slug: str, center: HelpCenterDep) -> HTMLResponse:
    article = center.get(slug)
    if article is None:
        # A mistyped or outdated address: say so, and offer what its words find.
        words = slug.replace("-", " ")[:MAX_QUERY_CHARS]
        context = {
            "query": words,
            "missing": slug[:MAX_QUERY_CHARS],
            "truncated": False,
            "results": center.search(words, limit=5),
        }
        return templates.TemplateResponse(request, "help_search.html", context, status_code=404)
    return templates.TemplateResponse(request, "help_article.html", _article_context(article))


def _article_context(article: Article) -> dict[str, Any]:
    try_it = article.slug in TRY_IT_SLUGS
    # The try-it box goes after the introduction, before the first heading.
    headings = [i for i, block in enumerate(article.blocks) if block.kind == "heading"]
    return {
        "article": article,
        "try_it": try_it,
        "try_it_at": headings[0] if headings else len(article.blocks),
        "reference": _reference() if try_it else None,
    }


def _reference() -> dict[str, Any]:
    """The grader's own functions and constants, grouped as the language table groups them."""
    categories: dict[str, list[dict[str, str]]] = {}
    for spec in FUNCTIONS.values():
        categories.setdefault(spec.category, []).append({
            "name": spec.name,
            "arguments": spec.arity_text(),
            "description": spec.description,
            "example": spec.example,
        })
    constants = [{"name": c.name, "description": c.description} for c in CONSTANTS.values()]
    return {"categories": categories, "constants": constants}
