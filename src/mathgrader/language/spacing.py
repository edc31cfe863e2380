"""Spacing-insensitive keys of learner input, for caches of what was graded before.

Learners type the same answer with different spaces (`3*x^2 + 2`, `3*x^2+2`). Removing spaces
would be wrong (`2 3` is an error, `23` a number; `2e - 3` is an error, `2e-3` a number), so the
key is the sequence of tokens the grammar's own lexer rules cut the text into: two texts with
the same key feed the parser the same tokens and so give the same tree, apart from columns.
"""

from __future__ import annotations

import functools
import re

from .parser import DEFAULT_LIMITS

__all__ = ["token_key"]

SEPARATOR = "\x1f"  # cannot occur in a key's tokens: it is not in the ASCII the key accepts


@functools.cache
def _pattern() -> re.Pattern[str]:
    from .parser import _lexer  # built on first use, not at import

    terminals = _lexer().terminals
    # Whitespace is what the grammar %ignores; any other character stands for itself, so a
    # character the lexer refuses keeps the key apart from any text without it.
    return re.compile(f"(?:{terminals['NUMBER']})|(?:{terminals['NAME']})|[^ \\t\\r\\n]")


@functools.lru_cache(maxsize=4096)  # a check asks for its answer's key twice
def token_key(text: str) -> str | None:
    """The tokens of `text` joined by a separator, or None for text outside printable ASCII and
    for text too long to parse (spaces count towards the length limit, so they matter there).

    >>> token_key("3*x^2 + 2") == token_key("3 * x^2+2")
    True
    >>> token_key("2 3") == token_key("23"), token_key("2e - 3") == token_key("2e-3")
    (False, False)
    """
    if not text.isascii() or SEPARATOR in text or len(text) > DEFAULT_LIMITS.max_length:
        return None
    return SEPARATOR.join(map(_GROUP, _pattern().finditer(text)))


_GROUP = re.Match.group  # each match's text, without a generator frame per token
