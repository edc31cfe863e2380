"""The help center's core: the FAQ split into articles, their titles and slugs, and search.

Owns `Article` (one FAQ article with a derived title, a URL slug, a summary and its text as
headings, paragraphs and lists), `load_articles()` (the FAQ text -> articles), and `HelpCenter`
(the articles plus a full-text index). Search runs on an in-memory SQLite FTS5 table ranked by
bm25 with the title weighted above the body; where the local SQLite lacks FTS5, a small ranked
token index answers the same calls. Learner queries never reach SQL or the FTS5 query language
as typed: they are cut to `MAX_QUERY_CHARS`, split into word tokens, and each token is passed as a
quoted FTS5 string through a bound parameter.

Nothing here does HTML. Snippets are plain text with highlight spans as offsets; the pages
escape the text and add the markup.

>>> center = HelpCenter.from_seeds()
>>> center.get("math-assignments").title
'Math assignments'
>>> hit = center.search("gcd")[0]
>>> hit.slug, [hit.snippet[start:end] for start, end in hit.highlights][:1]
('math-assignments', ['gcd'])
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

from ..language.table import CONSTANTS, FUNCTIONS

__all__ = [
    "ARTICLE_SEPARATOR",
    "FAQ_SEED",
    "MAX_QUERY_CHARS",
    "Article",
    "Block",
    "HelpCenter",
    "SearchResult",
    "derive_title",
    "fts5_available",
    "load_articles",
    "query_terms",
    "seed_text",
    "slugify",
]

FAQ_SEED = "000_d9b323f45fdab3eb.txt"
ARTICLE_SEPARATOR = "View Article"
MAX_QUERY_CHARS = 200  # longer queries are cut, not refused: a search box should never error
MAX_QUERY_TERMS = 16
SNIPPET_TOKENS = 18
TITLE_WEIGHT = 10.0
BODY_WEIGHT = 1.0
TITLE_BONUS = 1.0

# Private-use characters mark highlights inside FTS5 snippets; the loader strips them from the
# FAQ text so that a marker always comes from SQLite.
_OPEN, _CLOSE = "\ue000", "\ue001"
_UNWANTED = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ue000\ue001]")
_WORD = re.compile(r"\w+")


# --------------------------------------------------------------------------- articles


@dataclass(frozen=True, slots=True)
class Block:
    """One piece of an article as the page draws it."""

    kind: Literal["heading", "paragraph", "list"]
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Article:
    """One FAQ article: a human title, a unique URL slug, its lines and a one-line summary."""

    slug: str
    title: str
    paragraphs: tuple[str, ...]
    summary: str
    blocks: tuple[Block, ...] = ()

    @property
    def text(self) -> str:
        """The body as plain text, one paragraph a line (what the search index holds)."""
        return "\n".join(self.paragraphs)


def seed_text(name: str = FAQ_SEED) -> str:
    """The FAQ text shipped with the package (wheel) or found next to `src/` (checkout)."""
    packaged = resources.files("mathgrader").joinpath("seeds").joinpath(name)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    # An editable checkout: the seeds live in the top-level seeds/ folder.
    source = Path(__file__).resolve().parents[3] / "seeds" / name
    return source.read_text(encoding="utf-8")


def load_articles(text: str) -> list[Article]:
    """Split the FAQ at each "View Article" marker into articles with titles and unique slugs.

    >>> [a.title for a in load_articles("To cancel your free trial:\\nOpen your page\\n"
    ...     "View Article\\nFile upload\\nYou can upload files.\\nView Article\\n")]
    ['Cancel your free trial', 'File upload']
    """
    text = _UNWANTED.sub("", text.replace("\r\n", "\n")).replace("\\%", "%")
    # The FAQ lost some spaces after sentence ends and commas ("assignment.You", "plan,your").
    text = re.sub(r"(?<=[a-z])\.(?=[A-Z][a-z])", ". ", text)
    text = re.sub(r"(?<=[a-z]),(?=[a-z])", ", ", text)
    articles: list[Article] = []
    seen: set[str] = set()
    for chunk in text.split(ARTICLE_SEPARATOR):
        lines = [" ".join(line.split()) for line in chunk.split("\n")]
        lines = [line for line in lines if line]
        if not lines:
            continue
        title, heading_index = derive_title(lines)
        body = tuple(line for i, line in enumerate(lines) if i != heading_index)
        slug = _unique(slugify(title) or "article", seen)
        articles.append(
            Article(
                slug=slug,
                title=title,
                paragraphs=body,
                summary=_summary(body),
                blocks=tuple(_blocks(body)),
            )
        )
    return articles


def slugify(title: str) -> str:
    """Lowercase ASCII words joined by hyphens; apostrophes vanish rather than split words.

    >>> slugify("What's included in Coursera Plus")
    'whats-included-in-coursera-plus'
    >>> slugify("Single sign-on (SSO)")
    'single-sign-on-sso'
    >>> slugify("Café résumé")
    'cafe-resume'
    """
    ascii_title = title.lower().replace("'", "").replace("\u2019", "")
    ascii_title = unicodedata.normalize("NFKD", ascii_title).encode("ascii", "ignore").decode()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_title))


def _unique(slug: str, seen: set[str]) -> str:
    candidate, n = slug, 2
    while candidate in seen:
        candidate, n = f"{slug}-{n}", n + 1
    seen.add(candidate)
    return candidate


def _summary(lines: Sequence[str], width: int = 160) -> str:
    """The opening sentence; a lead-in ending in ":" continues with the first items it
    introduces ("To cancel your free trial: Log into your Coursera account; ...")."""
    lines = [line for line in lines if not line.lower().startswith("please note")] or lines
    if not lines:
        return ""
    first = re.split(r"(?<=[.!?])\s+", lines[0])[0]
    if first.endswith(":"):
        first = first + " " + "; ".join(line.rstrip(".") for line in lines[1:4])
    if len(first) <= width:
        return first
    return first[: width - 1].rsplit(" ", 1)[0].rstrip(",;:") + "\u2026"


# ---------------------------------------------------------------- layout of a body


def _is_short(line: str) -> bool:
    return len(line) <= 90 and line[-1] not in ".:;!?,"


def _heading_shape(line: str) -> bool:
    return _is_short(line) and line[:1].isupper() and ":" not in line


def _is_sentence(line: str) -> bool:
    return line[-1] in ".:!?" or len(line) > 90


def _looks_like_section(line: str, following: str | None) -> bool:
    """A short capitalised line with no parentheses or colon, followed by more short lines."""
    return (
        following is not None
        and _heading_shape(line)
        and _is_short(following)
        and "(" not in line
    )


# Steps of instructions start with a verb; a short line like this continues a list.
_STEP = re.compile(r"(?:Click|Open|Log|Go|Select|Choose|Enter|Tap|Type|Find|Scroll|Sign|Navigate)")


def _blocks(lines: Sequence[str]) -> Iterable[Block]:
    """Headings, paragraphs and lists, from the line shapes (the FAQ has no markup).

    A line ending in ":" introduces a list of the lines after it; a short capitalised line
    followed by a sentence is a heading (inside a list, only when a new lead-in or a long
    paragraph follows); a short line followed by other short lines heads a list of them.
    """
    items: list[str] = []
    mode: Literal["none", "colon", "section"] = "none"

    def flush() -> Iterable[Block]:
        if items:
            yield Block("list", tuple(items))
            items.clear()

    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else None
        heading = _heading_shape(line) and following is not None and _is_sentence(following)
        section = _looks_like_section(line, following)
        fits = line[-1] != ":" and len(line) <= 220
        if mode == "colon" and fits:
            # Lists of steps and names are full of short capitalised lines: only a line that
            # leads into something new ends the list.
            ends_list = (
                heading
                and following is not None
                and (following.endswith(":") or len(following) > 90)
                and not _STEP.match(line)
                and "," not in line
            )
            if not ends_list:
                items.append(line)
                continue
        if mode == "section" and fits and not heading:
            # A section-shaped line opens the next section only when the items so far are
            # not shaped like it ("Exponents" after "abs (absolute value)").
            if not section or any(_looks_like_section(item, "x") for item in items):
                items.append(line)
                continue
        yield from flush()
        mode = "none"
        if heading or section:
            yield Block("heading", (line,))
            mode = "section" if section else "none"
        else:
            yield Block("paragraph", (line,))
            if line[-1] == ":":
                mode = "colon"
    yield from flush()


# ------------------------------------------------------------------------ titles

# Clauses that qualify a title without naming the topic: cut from the first one on.
_QUALIFIER = re.compile(
    r"(?:[,:;!]| (?:after|before|when|once|because|so that|while|using|within|any time|"
    r"at any time|through the|depending on|as part of|to get|to help|to add|to connect|"
    r"that you|you can|which|here are)\b).*$"
)
_LEADING_DETERMINER = re.compile(r"^(?:a|an|the|some|different|all|any|basic) ", re.I)
_FILLER_ADJECTIVE = re.compile(r"\b(?:basic|various|certain) ", re.I)
_GERUND_STEMS = {
    "chang": "change", "clos": "close", "leav": "leave", "mak": "make", "manag": "manage",
    "sav": "save", "subscrib": "subscribe", "us": "use",
}


def _tidy(phrase: str) -> str:
    phrase = _QUALIFIER.sub("", phrase).strip().rstrip(".!?")
    phrase = _LEADING_DETERMINER.sub("", phrase)
    phrase = _LEADING_DETERMINER.sub("", phrase)
    phrase = _FILLER_ADJECTIVE.sub("", phrase)
    phrase = re.sub(r" on Coursera$", "", phrase)
    phrase = re.sub(r"^Coursera (?=[a-z])", "", phrase)  # "Coursera courses" -> "courses"
    phrase = re.sub(r"\bthat (course|assignment|video)\b", r"a \1", phrase)
    phrase = re.sub(r"\bthe (course|assignment|video)$", r"a \1", phrase)
    # "Get a Course Certificate for a course": the trailing generic place adds nothing.
    shorter = re.sub(r" (?:for|in|on) (?:a|an|the|your) (?:course|video)$", "", phrase)
    if len(shorter.split()) >= 2:
        phrase = shorter
    phrase = re.sub(r"^troubles\b", "trouble", phrase, flags=re.I)
    return phrase[:1].upper() + phrase[1:]


def _base_verb(gerund: str) -> str:
    """'clearing' -> 'clear', 'getting' -> 'get', 'making' -> 'make'."""
    stem = gerund.lower()[:-3]
    if stem in _GERUND_STEMS:
        return _GERUND_STEMS[stem]
    if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "ls":
        return stem[:-1]
    return stem


Builder = Callable[[re.Match[str], Sequence[str]], str]


@dataclass(frozen=True, slots=True)
class _TitleRule:
    """A way FAQ articles open, and how to make a title of it.

    `build` is a template over the pattern's groups (tidied as a whole) or a function of the
    match and the article's lines.
    """

    name: str
    pattern: re.Pattern[str]
    build: str | Builder

    def title(self, sentence: str, lines: Sequence[str]) -> str | None:
        match = self.pattern.search(sentence)
        if match is None:
            return None
        if isinstance(self.build, str):
            groups = {key: value or "" for key, value in match.groupdict().items()}
            return _tidy(self.build.format(**groups))
        return self.build(match, lines)


def _rule(name: str, pattern: str, build: str | Builder) -> _TitleRule:
    return _TitleRule(name, re.compile(pattern), build)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _fix_by(match: re.Match[str], _lines: Sequence[str]) -> str:
    """'resolve it by clearing your cache' -> 'Clear your cache'."""
    return f"{_base_verb(match['g']).capitalize()} {_lower_first(_tidy(match['x']))}"


def _passive(match: re.Match[str], _lines: Sequence[str]) -> str:
    """'Your Rhyme cloud desktop can be accessed ...' -> 'Access your Rhyme cloud desktop'."""
    return f"{match['v'].capitalize()} your {match['x']}"


def _abbreviated(match: re.Match[str], _lines: Sequence[str]) -> str:
    """'single sign-on, or SSO,' -> 'Single sign-on (SSO)'."""
    return _tidy(match["x"]) + (f" ({match['abbr']})" if match["abbr"] else "")


def _owner_has(match: re.Match[str], _lines: Sequence[str]) -> str:
    """'the Coursera community has some basic ground rules' -> 'Community ground rules'."""
    return _tidy(f"{match['s']} {_lower_first(_tidy(match['x']))}")


def _extend_bare_verb(match: re.Match[str], lines: Sequence[str]) -> str:
    """'you can unenroll' -> 'Unenroll from a course', using the verb's first complement."""
    action = _tidy(match["x"])
    if len(action.split()) > 1:
        return action
    complement = re.search(
        rf"\b{re.escape(action.lower())} (?:from|in|to|for|with|into) (?:a|an|the|your) \w+",
        " ".join(lines[1:]),
        re.I,
    )
    return _tidy(complement[0]) if complement else action


_YOU_HAVING = (
    r"\b(?:you're|you’re|you are) having (?:a |an )?"
    r"(?P<x>(?:technical )?(?:trouble|troubles|problems?|issues?)\b.*)"
)

# Tried in order on the first sentence (then the next two); the first rule that matches gives
# the title.
_TITLE_RULES: tuple[_TitleRule, ...] = (
    _rule("fix-by", r"(?:resolve|fix|solve) (?:it|this|them) by (?P<g>\w+ing) (?P<x>.*)", _fix_by),
    _rule("having-trouble", _YOU_HAVING, "{x}"),
    _rule("may-have-made", r"you may have (?:\w+ly )?(?:made|created) (?P<x>[^.]*)", "{x}"),
    _rule("want-to", r"^If you want to (?P<x>.*)", "{x}"),
    _rule("to-do", r"^To (?P<x>[^,:]*)[,:]", "{x}"),
    _rule("did-not-get", r"^If you (?:applied|asked) for (?P<x>.*?) but did not get it",
          "Didn't get {x}"),
    _rule("notice-contact", r"^If you (?:notice|find|see) (?P<x>[^,]*), please contact",
          "Report {x}"),
    _rule("policies", r"(?:depending on|according to) (?:our|the) (?P<x>[\w ]+? polic(?:y|ies))",
          "{x}"),
    _rule("if-you-can", r"^If [^,]*, you can (?P<x>[^.]*)", _extend_bare_verb),
    _rule("when-see", r"^When you [^,]*, you(?:'ll| will) see (?P<x>[^.]*)", "{x}"),
    _rule("when-you", r"^When you (?P<x>[^,]*),", "{x}"),
    _rule("need-to", r"^You (?:only )?need to (?P<x>.*?) to ", "{x}"),
    _rule("receive", r"^You (?:may|can|might) (?:receive|get) (?P<x>.*)", "{x}"),
    _rule("included-in", r"^(?:The majority of |Most |Some |All )?.+ (?:is|are) included in "
          r"(?P<x>[A-Z][\w ]*)", "What's included in {x}"),
    _rule("can-be-done", r"^Your (?P<x>.*?) can be (?P<v>\w+)ed\b", _passive),
    _rule("some-use", r"^Some \w+ use (?P<x>[^,]*?)(?:, or (?P<abbr>[A-Z]{2,}),)? to ",
          _abbreviated),
    _rule("available-plan", r"^Some (?P<s>[\w ]+?) are available for (?P<x>\w+)"
          r"(?: on an? (?P<plan>\w+) plan)?", "{plan} {x} for {s}"),
    _rule("owner-has", r"^(?:Like [^,]*, )?[Tt]he (?:Coursera )?(?P<s>[a-z]+) has (?P<x>[^.]*)",
          _owner_has),
    _rule("have", r"^(?:Some )?[\w ]+? have (?P<x>[^.]*)", "{x}"),
    _rule("offered-in", r"^(?P<s>[\w ]+?) (?:on Coursera )?(?:is|are) (?:offered|organized) "
          r"in (?P<x>\w+)", "{x} in {s}"),
    _rule("part-of", r"^Some (?P<s>[\w ]+?) are part of (?P<x>[\w ]+)", "{s} in {x}"),
    _rule("is-a", r"^(?:A |An |The )?(?:\w+'s )?(?P<x>(?!You\b|It\b|This\b|There\b|We\b)"
          r"[\w’' -]{2,40}?)(?: page)? (?:is|are) ", "{x}"),
)


def derive_title(lines: Sequence[str]) -> tuple[str, int | None]:
    """A human title for an article, and the index of the line used up as that title.

    A short first line ("File upload") is the title itself. Otherwise the first sentence is
    read with rules for the ways FAQ articles open: "To cancel your free trial:" -> "Cancel
    your free trial"; "If you're having trouble watching videos online, ..." -> "Trouble
    watching videos online"; "Math assignments are quizzes ..." -> "Math assignments". A
    disclaimer ("Please note, ...") is skipped.

    >>> derive_title(["If you're having trouble watching videos online, try this:", "Restart."])
    ('Trouble watching videos online', None)
    >>> derive_title(["Math assignments are quizzes that allow you to enter math functions."])
    ('Math assignments', None)
    >>> derive_title(["Please note, this is not a support function.", "Chat", "Find it here."])
    ('Chat', 1)
    """
    start = 0
    while start < len(lines) - 1 and lines[start].lower().startswith("please note"):
        start += 1
    first = lines[start]
    if len(first) <= 40 and first[-1] not in ".:!?,;":
        return first[:1].upper() + first[1:], start
    sentences = re.split(r"(?<=[.!?])\s+", first)
    for sentence in sentences[:3]:
        for rule in _TITLE_RULES:
            title = rule.title(sentence, lines[start:])
            if title:
                return title, None
    words = _tidy(sentences[0]).split()
    return " ".join(words[:8]), None


# ------------------------------------------------------------------------- search


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One ranked hit: `snippet` is plain text; `highlights` are (start, end) offsets into it
    of the words that matched; a higher `score` is a better match."""

    slug: str
    title: str
    snippet: str
    score: float
    highlights: tuple[tuple[int, int], ...] = field(default=())


# The learner language's function and constant names, as typed (`E` and `I` are constants, `e`
# and `i` are not), and how many of them an article names to count as documenting the language.
_LANGUAGE_NAMES = frozenset(FUNCTIONS) | frozenset(CONSTANTS)
LANGUAGE_ARTICLE_NAMES = 10


def query_terms(query: str) -> list[str]:
    """The words of a learner's query, with everything FTS5 or SQL would read as syntax gone.

    >>> query_terms('gcd" OR 1=1 -- NEAR( x*')
    ['gcd', 'OR', '1', '1', 'NEAR', 'x']
    """
    return _WORD.findall(query[:MAX_QUERY_CHARS])[:MAX_QUERY_TERMS]


def _fts_query(terms: Sequence[str], operator: str) -> str:
    # Every term becomes an FTS5 string; \w+ tokens hold no double quotes, so nothing inside a
    # term can close the string or act as an operator (AND, NEAR, *, ^, column filters).
    return f" {operator} ".join(f'"{term}"' for term in terms)


def _parse_marked(marked: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Turn marker-delimited snippet text into plain text plus highlight offsets."""
    marked = " ".join(marked.split())
    plain: list[str] = []
    spans: list[tuple[int, int]] = []
    length, start = 0, None
    for piece in re.split(f"([{_OPEN}{_CLOSE}])", marked):
        if piece == _OPEN:
            start = length
        elif piece == _CLOSE:
            if start is not None and length > start:
                spans.append((start, length))
            start = None
        else:
            plain.append(piece)
            length += len(piece)
    return "".join(plain), tuple(spans)


def fts5_available() -> bool:
    """Whether this Python's SQLite was built with the FTS5 extension."""
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute("CREATE VIRTUAL TABLE probe USING fts5(body)")
    except sqlite3.OperationalError:
        return False
    finally:
        connection.close()
    return True


class _FtsIndex:
    """Articles in an in-memory FTS5 table: porter stemming, bm25 ranking, snippet()."""

    def __init__(self, articles: Sequence[Article]) -> None:
        # Requests are served from a thread pool; one lock serialises use of the connection.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE VIRTUAL TABLE help USING fts5("
            "slug UNINDEXED, title, body, tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        self._db.executemany(
            "INSERT INTO help (slug, title, body) VALUES (?, ?, ?)",
            [(a.slug, a.title, a.text) for a in articles],
        )
        self._db.commit()

    def search(self, terms: Sequence[str], limit: int) -> list[SearchResult]:
        # All words first (precise); if that finds nothing, any word (forgiving).
        for operator in ("AND", "OR"):
            rows = self._query(_fts_query(terms, operator), limit)
            if rows:
                return rows
        return []

    def _query(self, match: str, limit: int) -> list[SearchResult]:
        sql = (
            "SELECT slug, title, highlight(help, 1, ?, ?), snippet(help, 2, ?, ?, '\u2026', ?), "
            "bm25(help, 0.0, ?, ?) FROM help WHERE help MATCH ?"
        )
        params = (_OPEN, _CLOSE, _OPEN, _CLOSE, SNIPPET_TOKENS, TITLE_WEIGHT, BODY_WEIGHT, match)
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        scored = []
        for slug, title, marked_title, marked, rank in rows:
            # bm25 saturates term frequency over the whole row, and FTS5 floors the idf of a
            # word found in most articles at 1e-6, so for common words the title weight hardly
            # shows: each query word found in the title adds a point on top.
            title_hits = marked_title.count(_OPEN)
            score = -rank + TITLE_BONUS * title_hits
            snippet, spans = _parse_marked(marked)
            scored.append(SearchResult(slug, title, snippet, float(f"{score:.9g}"), spans))
        scored.sort(key=lambda hit: -hit.score)
        return scored[:limit]


def _stem(word: str) -> str:
    """Plurals only: enough to let "certificates" find "certificate" without porter."""
    word = word.lower()
    if re.search(r"(?:ss|sh|ch|x|z)es$", word):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


class _TokenIndex:
    """The fallback without FTS5: tf-idf over stemmed words, title weighted, AND then OR."""

    def __init__(self, articles: Sequence[Article]) -> None:
        self._articles = list(articles)
        self._title = [Counter(map(_stem, _WORD.findall(a.title))) for a in articles]
        self._body = [Counter(map(_stem, _WORD.findall(a.text))) for a in articles]
        self._documents = Counter(
            stem for t, b in zip(self._title, self._body, strict=True) for stem in set(t) | set(b)
        )

    def search(self, terms: Sequence[str], limit: int) -> list[SearchResult]:
        stems = list(dict.fromkeys(_stem(t) for t in terms))
        for need_all in (True, False):
            scored = []
            for i in range(len(self._articles)):
                found = [s for s in stems if self._title[i][s] or self._body[i][s]]
                if not found or (need_all and len(found) < len(stems)):
                    continue
                score = sum(
                    math.log(1 + len(self._articles) / self._documents[s])
                    * (TITLE_WEIGHT * self._title[i][s] + BODY_WEIGHT * self._body[i][s])
                    for s in found
                ) / math.sqrt(1 + sum(self._body[i].values()) / 100)
                scored.append((score, i))
            if scored:
                scored.sort(key=lambda pair: (-pair[0], pair[1]))
                return [self._result(i, score, stems) for score, i in scored[:limit]]
        return []

    def _result(self, i: int, score: float, stems: Sequence[str]) -> SearchResult:
        article = self._articles[i]
        words = list(_WORD.finditer(article.text))
        hits = [n for n, w in enumerate(words) if _stem(w[0]) in stems]
        first = max(0, (hits[0] if hits else 0) - SNIPPET_TOKENS // 3)
        window = words[first : first + SNIPPET_TOKENS]
        if not window:
            return SearchResult(article.slug, article.title, "", round(score, 4))
        text = article.text[window[0].start() : window[-1].end()]
        marked = "".join(
            _OPEN + piece + _CLOSE if _WORD.fullmatch(piece) and _stem(piece) in stems else piece
            for piece in re.split(r"(\w+)", text)
        )
        snippet, spans = _parse_marked(
            ("\u2026" if first else "") + marked
            + ("\u2026" if first + SNIPPET_TOKENS < len(words) else "")
        )
        return SearchResult(article.slug, article.title, snippet, round(score, 4), spans)


class HelpCenter:
    """The articles, looked up by slug and searched by words."""

    def __init__(self, articles: Sequence[Article], *, use_fts: bool | None = None) -> None:
        """Index `articles`; `use_fts=None` uses FTS5 when SQLite has it."""
        self._articles = tuple(articles)
        self._by_slug = {a.slug: a for a in self._articles}
        if len(self._by_slug) != len(self._articles):
            raise ValueError("article slugs must be unique")
        self.uses_fts = fts5_available() if use_fts is None else use_fts
        self._index: _FtsIndex | _TokenIndex = (
            _FtsIndex(self._articles) if self.uses_fts else _TokenIndex(self._articles)
        )
        self._language_articles = frozenset(
            a.slug for a in self._articles
            if len(_LANGUAGE_NAMES.intersection(_WORD.findall(a.text))) >= LANGUAGE_ARTICLE_NAMES)

    @classmethod
    def from_seeds(cls, name: str = FAQ_SEED, *, use_fts: bool | None = None) -> HelpCenter:
        """The help center built from the FAQ shipped in `seeds/`."""
        return cls(load_articles(seed_text(name)), use_fts=use_fts)

    @property
    def articles(self) -> tuple[Article, ...]:
        """Every article, in FAQ order."""
        return self._articles

    def get(self, slug: str) -> Article | None:
        """The article with this slug, or None."""
        return self._by_slug.get(slug)

    def search(self, query: str, limit: int = 10) -> list[SearchResult]:
        """The best articles for a learner's query, best first; [] for a query with no words.

        Any text is a valid query: it is cut to `MAX_QUERY_CHARS` and reduced to its words.
        """
        terms = query_terms(query)
        if not terms or limit <= 0:
            return []
        if not self._language_articles or not _LANGUAGE_NAMES.issuperset(terms):
            return self._index.search(terms, limit)
        # Every word is a name of the learner language (`log`, `sign`, `min`, `I`): the article
        # that documents the language comes first, ahead of "Log in" and "Sign in" articles.
        results = self._index.search(terms, max(limit, len(self._articles)))
        results.sort(key=lambda hit: hit.slug not in self._language_articles)
        return results[:limit]
