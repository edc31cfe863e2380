"""The help center: FAQ splitting and titles, search (FTS5 and the fallback), pages and API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from mathgrader.language.table import FUNCTIONS
from mathgrader.service import help_routes
from mathgrader.service.help import (
    MAX_QUERY_CHARS,
    HelpCenter,
    derive_title,
    fts5_available,
    load_articles,
    query_terms,
    seed_text,
    slugify,
)
from mathgrader.service.help_routes import highlight, router

STATIC = Path(help_routes.__file__).with_name("static")

HOSTILE = [
    '"',
    '""',
    "*",
    "-",
    "NEAR(",
    "NEAR(a b",
    "') OR 1=1 --",
    "'; DROP TABLE help; --",
    "<script>alert(1)</script>",
    "title:gcd",
    "{title}: x",
    "^gcd",
    "a AND OR NOT b",
    "(((",
    ")",
    "\x00\x01",
    "\ue000gcd\ue001",
    "x" * 10_000,
    "gcd " * 3_000,
    "",
    "   ",
    "😀 ∫ ß",
]


@pytest.fixture(scope="module")
def center() -> HelpCenter:
    return HelpCenter.from_seeds()


@pytest.fixture(scope="module", params=["fts5", "tokens"])
def any_center(request: pytest.FixtureRequest) -> HelpCenter:
    if request.param == "fts5" and not fts5_available():
        pytest.skip("this SQLite has no FTS5")
    return HelpCenter.from_seeds(use_fts=request.param == "fts5")


@pytest.fixture(scope="module")
def client(center: HelpCenter) -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(router)
    app.state.help_center = center
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    with TestClient(app) as test_client:
        yield test_client


# ---------------------------------------------------------------- splitting and titles


def test_the_faq_splits_into_fifty_articles_with_unique_slugs(center: HelpCenter) -> None:
    articles = center.articles
    assert len(articles) == 50
    slugs = [a.slug for a in articles]
    assert len(set(slugs)) == len(slugs)
    for article in articles:
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", article.slug), article.slug
        assert article.title and article.title[0].isupper(), article.title
        assert len(article.title) <= 50, article.title
        assert not article.title.endswith((".", ":", ",", "?")), article.title
        assert article.summary and article.paragraphs and article.blocks


def test_every_line_of_the_faq_is_in_an_article_body_or_is_a_title() -> None:
    def words(line: str) -> str:
        return " ".join(re.findall(r"\w+", line))

    text = seed_text()
    articles = load_articles(text)
    source = {words(line) for line in text.replace("View Article", "\n").splitlines()} - {""}
    bodies = {words(line) for article in articles for line in article.paragraphs}
    titles = {words(article.title) for article in articles}
    used_as_titles = source - bodies
    assert used_as_titles <= titles
    assert len(used_as_titles) == 4  # "File upload", "Customizing the sidebar", "Chat", ...


# slug -> title, for the articles whose titles take the most rules to get right.
EXPECTED_TITLES = {
    "math-assignments": "Math assignments",
    "trouble-watching-videos-online": "Trouble watching videos online",
    "cancel-your-free-trial": "Cancel your free trial",
    "file-upload": "File upload",
    "chat": "Chat",
    "unenroll-from-a-course": "Unenroll from a course",
    "community-ground-rules": "Community ground rules",
    "single-sign-on-sso": "Single sign-on (SSO)",
    "whats-included-in-coursera-plus": "What's included in Coursera Plus",
    "clear-your-cache-and-cookies": "Clear your cache and cookies",
    "access-your-rhyme-cloud-desktop": "Access your Rhyme cloud desktop",
    "didnt-get-financial-aid-or-a-scholarship": "Didn't get Financial Aid or a Scholarship",
    "refund-policies": "Refund policies",
    "course-certificate": "Course Certificate",
}


@pytest.mark.parametrize(("slug", "title"), EXPECTED_TITLES.items(), ids=list(EXPECTED_TITLES))
def test_seed_titles(center: HelpCenter, slug: str, title: str) -> None:
    article = center.get(slug)
    assert article is not None
    assert article.title == title


TITLE_PAIRS = [
    ("Math assignments are quizzes that allow you to enter math functions.", "Math assignments"),
    ("If you're having trouble watching videos online, try the following steps:",
     "Trouble watching videos online"),
    ("To cancel your free trial:", "Cancel your free trial"),
    ("File upload", "File upload"),
    ("If you want to watch videos without an internet connection, you can download them.",
     "Watch videos without an internet connection"),
    ("If you're already logged in, you can change your password using your Settings page.",
     "Change your password"),
    ("If you are having troubles with Single Sign On, here are some things you can try:",
     "Trouble with Single Sign On"),
    ("A Course Certificate is an official credential.", "Course Certificate"),
    ("Some courses use third-party tools to add extra features.", "Third-party tools"),
    ("You only need to set up ID Verification to get a certificate.", "Set up ID Verification"),
    ("Degree courses on Coursera are offered in sessions.", "Sessions in Degree courses"),
    ("Some courses have optional honors assignments you can complete.",
     "Optional honors assignments"),
]


@pytest.mark.parametrize(("first_line", "title"), TITLE_PAIRS, ids=[p[0] for p in TITLE_PAIRS])
def test_derive_title(first_line: str, title: str) -> None:
    assert derive_title([first_line, "More text follows here."])[0] == title


def test_a_heading_line_becomes_the_title_and_leaves_the_body() -> None:
    (article,) = load_articles("Credit cards\nYou can pay with these cards:\nVisa\n")
    assert article.title == "Credit cards"
    assert article.paragraphs == ("You can pay with these cards:", "Visa")
    assert [b.kind for b in article.blocks] == ["paragraph", "list"]


def test_duplicate_titles_get_distinct_slugs_and_empty_chunks_are_skipped() -> None:
    text = "File upload\nOne.\nView Article\n\nView Article\nFile upload\nTwo.\nView Article\n"
    assert [a.slug for a in load_articles(text)] == ["file-upload", "file-upload-2"]


@pytest.mark.parametrize(
    ("title", "slug"),
    [("What's included in Coursera Plus", "whats-included-in-coursera-plus"),
     ("Single sign-on (SSO)", "single-sign-on-sso"),
     ("Café ∫ résumé", "cafe-resume")],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_steps_after_a_lead_in_render_as_a_list(center: HelpCenter) -> None:
    article = center.get("cancel-your-free-trial")
    assert article is not None
    steps = next(b for b in article.blocks if b.kind == "list")
    assert steps.lines[0] == "Log into your Coursera account"
    assert len(steps.lines) >= 4


def test_escaped_percent_signs_are_cleaned(center: HelpCenter) -> None:
    assert not any("\\%" in a.text for a in center.articles)


# ------------------------------------------------------------------------- search


def test_fts5_is_used_when_available(center: HelpCenter) -> None:
    assert center.uses_fts == fts5_available()


def test_certificate_ranks_certificate_articles_first(any_center: HelpCenter) -> None:
    results = any_center.search("certificate")
    assert len(results) >= 5
    assert "certificate" in results[0].title.lower()
    assert "certificate" in results[1].title.lower()
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True)


def test_title_matches_rank_above_body_only_matches(center: HelpCenter) -> None:
    results = center.search("certificate")
    in_title = [i for i, r in enumerate(results) if "certificate" in r.title.lower()]
    assert in_title == list(range(len(in_title))) and len(in_title) == 3


def test_gcd_finds_math_assignments_with_the_term_highlighted(any_center: HelpCenter) -> None:
    (hit,) = any_center.search("gcd")
    assert hit.slug == "math-assignments"
    assert hit.highlights
    assert all(hit.snippet[start:end].lower() == "gcd" for start, end in hit.highlights)


@pytest.mark.parametrize("query", ["log", "sign", "min", "re", "I", "log sqrt"])
def test_a_function_name_finds_the_math_article_before_log_in_articles(
        any_center: HelpCenter, query: str) -> None:
    # "log" used to rank Math assignments 14th, behind every "Log in" article (stemmed "log").
    assert any_center.search(query)[0].slug == "math-assignments"


@pytest.mark.parametrize("query", ["log in", "sign in", "log out"])
def test_everyday_phrases_keep_their_own_ranking(any_center: HelpCenter, query: str) -> None:
    assert any_center.search(query)[0].slug != "math-assignments"


def test_stemming_and_any_word_fallback(any_center: HelpCenter) -> None:
    assert any_center.search("certificates")[0].slug == any_center.search("certificate")[0].slug
    # No article has both words: the search falls back to any of them.
    assert {r.slug for r in any_center.search("refund xyzzyq")} >= {"refund-policies"}


@pytest.mark.parametrize("query", HOSTILE, ids=[repr(q[:20]) for q in HOSTILE])
def test_hostile_queries_never_raise(any_center: HelpCenter, query: str) -> None:
    results = any_center.search(query)
    assert isinstance(results, list)
    for hit in results:
        assert "\ue000" not in hit.snippet and "\ue001" not in hit.snippet
    # The index survives whatever was typed.
    assert any_center.search("gcd")[0].slug == "math-assignments"


def test_query_terms_are_plain_words() -> None:
    assert query_terms("') OR 1=1 -- NEAR(\"x\" *") == ["OR", "1", "1", "NEAR", "x"]
    assert query_terms("x" * 10_000) == ["x" * MAX_QUERY_CHARS]
    assert len(query_terms("a " * 500)) == 16


# Built once: hypothesis calls the test many times.
_CENTERS = [HelpCenter.from_seeds(use_fts=False)] + (
    [HelpCenter.from_seeds(use_fts=True)] if fts5_available() else []
)


@settings(max_examples=150, deadline=None)
@given(query=st.text(max_size=300), limit=st.integers(min_value=0, max_value=60))
def test_any_text_is_a_valid_query(query: str, limit: int) -> None:
    for center in _CENTERS:
        results = center.search(query, limit=limit)
        assert len(results) <= limit
        for hit in results:
            assert all(0 <= s < e <= len(hit.snippet) for s, e in hit.highlights)


def test_concurrent_searches_share_one_index(center: HelpCenter) -> None:
    queries = ["gcd", "certificate", "refund", "videos", "password"] * 20
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda q: center.search(q)[0].slug, queries))
    assert results[:5] * 20 == results


# -------------------------------------------------------------------------- HTML


def test_highlight_escapes_text_and_marks_spans() -> None:
    assert str(highlight("a<b>&gcd", [(5, 8)])) == "a&lt;b&gt;&amp;<mark>gcd</mark>"
    assert str(highlight("gcd", [(0, 99), (1, 2)])) == "<mark>gcd</mark>"
    assert str(highlight("<i>", [])) == "&lt;i&gt;"


def test_index_lists_every_article_with_its_title(client: TestClient, center: HelpCenter) -> None:
    response = client.get("/help")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    for article in center.articles:
        assert f'href="/help/{article.slug}"' in response.text
    assert "Math assignments" in response.text
    assert 'action="/help/search"' in response.text


def test_article_page(client: TestClient) -> None:
    response = client.get("/help/cancel-your-free-trial")
    assert response.status_code == 200
    assert "<h1>Cancel your free trial</h1>" in response.text
    assert "<li>Log into your Coursera account</li>" in response.text
    assert "preview.js" not in response.text


def test_math_assignments_page_has_the_try_it_box(client: TestClient) -> None:
    response = client.get("/help/math-assignments")
    assert response.status_code == 200
    html = response.text
    assert re.search(r'<input id="try-it-input"[^>]*data-preview-output="try-it-output"', html)
    assert '<div id="try-it-output"' in html
    assert '<script src="/static/preview.js"></script>' in html
    # The reference comes from the language table: every function is listed.
    for name in FUNCTIONS:
        assert f"<code>{name}</code>" in html


def test_static_files_are_served(client: TestClient) -> None:
    script = client.get("/static/preview.js")
    assert script.status_code == 200
    assert "function attachPreview(input, output, options)" in script.text
    assert "innerHTML" not in script.text
    assert client.get("/static/site.css").status_code == 200


def test_unknown_article_is_404_with_suggestions(client: TestClient) -> None:
    response = client.get("/help/refund-policy-old")
    assert response.status_code == 404
    assert "Article not found" in response.text
    assert 'href="/help/refund-policies"' in response.text


def test_unknown_article_slug_is_escaped(client: TestClient) -> None:
    response = client.get("/help/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert response.status_code == 404
    assert "<script>alert" not in response.text


def test_search_page_ranks_and_highlights(client: TestClient) -> None:
    response = client.get("/help/search", params={"q": "gcd"})
    assert response.status_code == 200
    assert 'href="/help/math-assignments"' in response.text
    assert "<mark>gcd</mark>" in response.text
    assert 'value="gcd"' in response.text


def test_search_page_without_results_or_query(client: TestClient) -> None:
    assert "No results" in client.get("/help/search", params={"q": "qqqzzz"}).text
    assert client.get("/help/search").status_code == 200


@pytest.mark.parametrize("query", HOSTILE, ids=[repr(q[:20]) for q in HOSTILE])
def test_search_page_survives_hostile_queries(client: TestClient, query: str) -> None:
    response = client.get("/help/search", params={"q": query})
    assert response.status_code == 200
    assert "<script>alert" not in response.text
    if query == "<script>alert(1)</script>":
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


# --------------------------------------------------------------------------- API


def test_api_search(client: TestClient) -> None:
    response = client.get("/api/v1/help/search", params={"q": "certificate"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert results
    assert set(results[0]) >= {"slug", "title", "snippet", "score"}
    assert "certificate" in results[0]["title"].lower()
    for hit in results:
        for start, end in hit["highlights"]:
            assert hit["snippet"][start:end].lower().startswith("certificat")


@pytest.mark.parametrize("query", ["", " ", "\t\n", "***", '"'])
def test_api_search_without_words_is_empty(client: TestClient, query: str) -> None:
    response = client.get("/api/v1/help/search", params={"q": query})
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_api_search_without_q_is_empty(client: TestClient) -> None:
    assert client.get("/api/v1/help/search").json()["results"] == []


@pytest.mark.parametrize("query", HOSTILE, ids=[repr(q[:20]) for q in HOSTILE])
def test_api_search_survives_hostile_queries(client: TestClient, query: str) -> None:
    response = client.get("/api/v1/help/search", params={"q": query})
    assert response.status_code == 200
    assert len(response.json()["query"]) <= MAX_QUERY_CHARS


def test_api_search_cuts_long_queries(client: TestClient) -> None:
    body = client.get("/api/v1/help/search", params={"q": "gcd " + "x" * 5000}).json()
    assert body["query"] == ("gcd " + "x" * 5000)[:MAX_QUERY_CHARS]


def test_api_search_limit(client: TestClient) -> None:
    assert len(client.get("/api/v1/help/search?q=course&limit=3").json()["results"]) == 3
    assert client.get("/api/v1/help/search?q=course&limit=0").status_code == 422


def test_the_help_center_must_be_on_app_state() -> None:
    app = FastAPI()
    app.include_router(router)
    with TestClient(app, raise_server_exceptions=True) as bare, pytest.raises(RuntimeError):
        bare.get("/help")
