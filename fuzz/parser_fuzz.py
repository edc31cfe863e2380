"""Coverage-guided fuzzing of the parser and the preview with atheris (libFuzzer).

Each input is decoded as UTF-8 (undecodable bytes become U+FFFD, as a web form would send them)
and given to `mathgrader.parse` and `mathgrader.preview`. An `InputError` is the right answer to
bad text; any other exception is a crash, and libFuzzer saves the input that caused it. An input
that runs longer than `-timeout` seconds is reported as a hang.

    .venv/bin/python -m pip install atheris
    mkdir -p var/fuzz/corpus
    .venv/bin/python fuzz/parser_fuzz.py -max_total_time=120 -timeout=10 \
        -artifact_prefix=var/fuzz/ var/fuzz/corpus fuzz/corpus

New interesting inputs go to the first folder (var/, not committed); `fuzz/corpus` holds the
seeds (fuzz/make_corpus.py). To replay a crash: `.venv/bin/python fuzz/parser_fuzz.py FILE`.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["mathgrader", "lark"]):
    import mathgrader
    from mathgrader import InputError
    from mathgrader.language import builder, limits, parser, preview, render  # noqa: F401

MAX_LENGTH = 4096  # twice the learner-text limit: the length check itself is exercised


def test_one_input(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    for call in (mathgrader.parse, mathgrader.preview):
        try:
            call(text)
        except InputError:
            pass


def main() -> None:
    argv = list(sys.argv)
    if not any(arg.startswith("-max_len=") for arg in argv):
        argv.append(f"-max_len={MAX_LENGTH}")
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
