"""`grade-batch` and the files it is given: a byte-order mark, bytes that are not UTF-8, an id
no JSON output can hold, and an output that is the input itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

LINE = '{"id": "%s", "reference": "x", "answer": "%s"}'


def _grade(args: list[str], stdin: bytes | None = None,
           stdin_file: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "mathgrader.cli", "grade-batch", *args]
    if stdin_file is not None:
        with stdin_file.open("rb") as source:
            return subprocess.run(command, stdin=source, capture_output=True, timeout=120,
                                  check=False)
    return subprocess.run(command, input=stdin, capture_output=True, timeout=120, check=False)


def _records(out: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.decode("utf-8").splitlines()]


CONTENT = (b"\xef\xbb\xbf" + (LINE % ("bom", "x")).encode() + b"\n"  # a BOM before line 1
           + (LINE % ("latin-1", "caf")).encode().replace(b'caf"', b'caf\xe9"') + b"\n"
           + (LINE % ("cut", "x")).encode().replace(b'x"}', b'x\xe2\x82"}') + b"\n"
           + (LINE % ("utf-8", "\u00e9")).encode() + b"\n")


@pytest.mark.slow
@pytest.mark.parametrize("via", ["file", "stdin"])
def test_a_bom_is_skipped_and_bytes_that_are_not_utf8_are_the_files_error(
        tmp_path: Path, via: str) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(CONTENT)
    done = _grade([str(source)]) if via == "file" else _grade([], stdin=CONTENT)
    assert done.returncode == 0, done.stderr
    records = _records(done.stdout)
    assert [r["verdict"] for r in records] == ["correct", "error", "error", "invalid"]
    assert records[0]["id"] == "bom"
    assert records[1]["feedback"] == (
        "line 2: not valid UTF-8 (the byte 0xE9 at column 51): save the file as UTF-8")
    assert records[2]["feedback"] == (
        "line 3: not valid UTF-8 (the byte 0xE2 at column 45): save the file as UTF-8")
    # a real é in UTF-8 is the learner's: a character the syntax does not use
    assert records[3]["error"]["code"] == "unsupported_character"  # type: ignore[index]


@pytest.mark.slow
def test_an_output_that_is_the_input_is_refused_before_anything_is_written(
        tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    text = "\n".join(LINE % (i, "x") for i in range(3)) + "\n"
    source.write_text(text, encoding="utf-8")
    for args, stdin_file in (([str(source), "-o", str(source)], None),
                             ([str(source), "-o", str(tmp_path / "." / "in.jsonl")], None),
                             (["-", "-o", str(source)], source)):
        done = _grade(args, stdin_file=stdin_file)
        assert done.returncode == 2, done.stderr
        assert b"is the input file" in done.stderr
        assert source.read_text(encoding="utf-8") == text  # the submissions are still there


@pytest.mark.slow
def test_an_id_beyond_the_range_of_numbers_is_an_error_line_not_the_end_of_the_run(
        tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    lines = [LINE % ("a", "x"), '{"id": 1e999, "reference": "x", "answer": "x"}',
             LINE % ("c", "x")]
    done = _grade(["-", "-o", str(out), "--workers", "2"],
                  stdin=("\n".join(lines) + "\n").encode())
    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr
    records = _records(out.read_bytes())
    assert [r["verdict"] for r in records] == ["correct", "error", "correct"]


@pytest.mark.slow
@pytest.mark.parametrize("budget", ["0", "inf", "nan"])
def test_every_unusable_timeout_gets_one_message(tmp_path: Path, budget: str) -> None:
    # inf passed the check and then failed in the pool, with a message of its own
    source = tmp_path / "in.jsonl"
    source.write_text(LINE % ("a", "x") + "\n", encoding="utf-8")
    done = _grade([str(source), "--timeout", budget])
    assert done.returncode == 2
    assert done.stderr.decode().strip() == "error: --timeout must be a finite number of seconds > 0"
