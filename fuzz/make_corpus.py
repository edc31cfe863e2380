"""Write the seed corpus of the parser fuzzer (one file per short learner input) and its
dictionary of tokens.

The inputs are the `answer` strings of the conformance suites (../shared/conformance/*.jsonl)
and every expression of the example answer keys (examples/*.toml): answers, accepted and
rejected examples, feedback answers. Each file is named by a hash of its content, so running this
again adds new inputs and never duplicates one. `fuzz/learner.dict` lists the grammar's tokens
(function names, constants, aliases, operators) for libFuzzer's `-dict=`.

    .venv/bin/python fuzz/make_corpus.py [CONFORMANCE_DIR]
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "fuzz" / "corpus"
DICTIONARY = ROOT / "fuzz" / "learner.dict"
MAX_LENGTH = 120  # short inputs mutate best; the length limits have their own tests


def conformance_answers(folder: Path) -> Iterator[str]:
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                answer = json.loads(line).get("answer")
                if isinstance(answer, str):
                    yield answer


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict) and "answer" in value:
        yield from _strings(value["answer"])


def key_expressions(folder: Path) -> Iterator[str]:
    for path in sorted(folder.glob("*.toml")):
        for question in tomllib.loads(path.read_text(encoding="utf-8")).get("questions", []):
            for field in ("answer", "answers", "accept", "reject", "feedback"):
                yield from _strings(question.get(field, []))


def _quoted(token: str) -> str:
    """libFuzzer's dictionary syntax: printable ASCII as is, anything else as \\xNN."""
    return '"' + "".join(
        chr(b) if 32 <= b < 127 and chr(b) not in '"\\' else f"\\x{b:02X}"
        for b in token.encode("utf-8")
    ) + '"'


def dictionary() -> str:
    from mathgrader.language.table import ALIASES, CONSTANTS, FUNCTIONS

    tokens = [*sorted(FUNCTIONS), *sorted(CONSTANTS), *sorted(ALIASES),
              "+", "-", "*", "/", "^", "(", ")", "[", "]", ",", ".", "e-", "e+", "**",
              "\u2212", "\u00d7", "\u03c0"]
    lines = ["# Tokens of the learner syntax, for libFuzzer -dict= (written by make_corpus.py)"]
    lines += [_quoted(token) for token in tokens]
    return "\n".join(lines) + "\n"


def main() -> int:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "conformance"
    texts = {*conformance_answers(folder), *key_expressions(ROOT / "examples")}
    CORPUS.mkdir(parents=True, exist_ok=True)
    written = 0
    for text in sorted(texts):
        data = text.encode("utf-8")
        if not data or len(text) > MAX_LENGTH:
            continue
        path = CORPUS / hashlib.sha1(data).hexdigest()[:16]
        if not path.exists():
            path.write_bytes(data)
            written += 1
    DICTIONARY.write_text(dictionary(), encoding="utf-8")
    print(f"{written} new seed files in {CORPUS.relative_to(ROOT)} "  # noqa: T201
          f"({len(list(CORPUS.iterdir()))} in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
