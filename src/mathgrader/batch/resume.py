"""Resuming an interrupted batch run: what an existing output file already answers.

`grade-batch --resume` keeps the complete result lines of its output file, checks that they
answer the first non-blank lines of the input (same ids, same order), skips those input lines and
appends the rest. Lines are matched by position and id together, so missing or repeated ids are
fine; where lines have no id, only their number can be checked. A torn last line (no newline, or
not a result line: what a killed writer leaves) is cut off and graded again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..checker.grade import VERDICTS
from .pool import BatchError, ident_of

__all__ = ["ResumeError", "Resumed", "resume_output"]


class ResumeError(BatchError):
    """The output file cannot be continued from this input."""


@dataclass(frozen=True, slots=True)
class Resumed:
    answered: int  # result lines kept: the first `answered` non-blank input lines
    consumed: int  # input lines they account for, blank ones included
    dropped: int  # bytes of a torn last line cut off the output


def _canonical(ident: Any) -> str:
    # 1, 1.0 and true are equal in Python; ids must be the same JSON value.
    return json.dumps(ident, sort_keys=True)


def _result_id(raw: bytes) -> tuple[bool, Any]:
    """(whether `raw` is a result line, its id)."""
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):
        return False, None
    if not isinstance(record, dict) or "id" not in record or record.get("verdict") not in VERDICTS:
        return False, None
    return True, record["id"]


def resume_output(path: str | os.PathLike[str], lines: Iterator[str]) -> Resumed:
    """Match the result lines in `path` against the first lines of `lines`, consuming those.

    On success, a torn last line is cut off `path`, so that appending to it continues the run;
    on a mismatch `ResumeError` is raised and `path` is left as it was. A missing `path`
    answers nothing.
    """
    name = os.fspath(path)
    try:
        f = open(name, "r+b")  # noqa: SIM115 - closed below; r+ because we may truncate
    except FileNotFoundError:
        return Resumed(0, 0, 0)
    with f:
        answered = consumed = kept = 0
        damaged = 0  # 1-based number of a complete line that is not a result line
        for raw in f:
            if damaged:
                raise ResumeError(
                    f"cannot resume: line {damaged} of {name} is not a result line of "
                    "grade-batch, and more lines follow it"
                )
            if not raw.endswith(b"\n"):
                break  # torn: the writer stopped mid-line
            is_result, out_id = _result_id(raw)
            if not is_result:
                damaged = answered + 1
                continue
            try:
                text = next(lines)
                consumed += 1
                while not text.strip():
                    text = next(lines)
                    consumed += 1
            except StopIteration:
                raise ResumeError(
                    f"cannot resume: {name} has more result lines than the input has "
                    f"submissions ({answered}); was it written from this input?"
                ) from None
            in_id = ident_of(text.strip())
            if _canonical(out_id) != _canonical(in_id):
                raise ResumeError(
                    f"cannot resume: line {answered + 1} of {name} answers id "
                    f"{_canonical(out_id)}, but input line {consumed} (submission "
                    f"{answered + 1}) has id {_canonical(in_id)}; was {name} written from "
                    "this input?"
                )
            answered += 1
            kept += len(raw)
        size = os.fstat(f.fileno()).st_size
        if kept < size:
            f.truncate(kept)
    return Resumed(answered, consumed, size - kept)
