"""Authoring keys from the command line with tomlkit, so comments and layout survive edits.

The new [[questions]] table goes where tomlkit puts it (after the last question), set off by a
blank line on each side, with the file's own line endings; the rest of the text is kept byte for
byte. The edited file replaces the old one atomically. Problems with the values given on the
command line name their flag: they are in no file yet.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT

from .model import KeyProblem, parse_key, validate_question, validate_quiz

__all__ = ["ADD_FLAGS", "NEW_FLAGS", "KeyWriteError", "add_question", "new_key"]

NEW_FLAGS = {"id": "--quiz", "title": "--title"}
ADD_FLAGS = {"id": "--id", "prompt": "--prompt", "answer": "--answer", "variables": "--variable",
             "accept": "--accept", "reject": "--reject"}

# Marks the new table in tomlkit's output, to find where it was put (NUL: no TOML text has one).
_START, _END = "\x00mathgrader-start\x00", "\x00mathgrader-end\x00"


class KeyWriteError(KeyProblem):
    """The key file could not be written (a missing folder, no permission, a full disk)."""

    def __init__(self, path: str | Path, exc: OSError) -> None:
        reason = exc.strerror or str(exc)
        folder = Path(path).parent
        if isinstance(exc, FileNotFoundError) and not folder.is_dir():
            reason += f" (the folder {folder} does not exist)"
        super().__init__(reason, path=str(path))

    def __str__(self) -> str:
        return f"cannot write {self.path}: {self.message}"


def new_key(path: str | Path, quiz: str, title: str) -> None:
    """Create a key file with its [quiz] table; refuses to overwrite."""
    path = Path(path)
    validate_quiz(str(path), {"id": quiz, "title": title}, NEW_FLAGS)
    document = tomlkit.document()
    document.add(tomlkit.comment("Answer key: mathgrader key lint checks it, key add extends it."))
    table = tomlkit.table()
    table.add("id", quiz)
    table.add("title", title)
    document.add("quiz", table)
    text = tomlkit.dumps(document)
    parse_key(text + '\n[[questions]]\nid = "q"\nanswer = "1"\n', str(path))
    try:
        with open(path, "x", encoding="utf-8", newline="") as file:  # "x": never overwrite
            file.write(text)
    except FileExistsError:
        raise KeyProblem("the file already exists", path=str(path),
                         hint="use `mathgrader key add` to add questions to it") from None
    except OSError as exc:
        raise KeyWriteError(path, exc) from None


def add_question(path: str | Path, question: Mapping[str, Any]) -> None:
    """Append a [[questions]] table; the edited file is validated before it is written."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")  # bytes: keep "\r\n" as written
    except OSError as exc:
        raise KeyProblem(f"cannot read the file: {exc.strerror}", path=str(path)) from None
    except UnicodeDecodeError as exc:
        raise KeyProblem(f"cannot read the file: {exc}", path=str(path)) from None
    fields = {name: value for name, value in question.items()
              if value is not None and value != [] and value != {}}
    validate_question(text, str(path), fields, ADD_FLAGS)  # TOML errors too, located
    try:
        document = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:  # pragma: no cover - tomllib refused it first
        raise KeyProblem(f"TOML syntax error: {exc}", path=str(path), line=exc.line,
                         column=exc.col) from None
    updated = _insert(text, document, fields, str(path))
    parse_key(updated, str(path))  # the edited file must load as a whole (it does, once checked)
    _replace(path, updated)


def _insert(text: str, document: tomlkit.TOMLDocument, fields: Mapping[str, Any],
            path: str) -> str:
    """`text` with a [[questions]] table of `fields` after its last question."""
    questions = document.get("questions")
    if questions is None:
        questions = tomlkit.aot()
        document.append("questions", questions)
    elif not isinstance(questions, AoT):
        raise KeyProblem("key add can only extend [[questions]] tables, not an inline array",
                         path=path, hint="write each question as its own [[questions]] table")
    table = tomlkit.table()
    for name, value in fields.items():
        if isinstance(value, dict):
            inline = tomlkit.inline_table()
            inline.update(value)
            table.add(name, inline)
        else:
            table.add(name, value)
    table.trivia.indent = _START
    table.add(tomlkit.comment(_END))
    questions.append(table)
    dumped = tomlkit.dumps(document)
    start = dumped.index(_START)
    end = dumped.index("\n", dumped.index(_END)) + 1
    before, block, after = dumped[:start], dumped[start + len(_START):end], dumped[end:]
    block = block[:block.rindex("#")]  # drop the end mark's comment line

    newline = "\r\n" if "\r\n" in text else "\n"
    # Comments set off from the last question by a blank line introduce what follows it.
    lines = before.splitlines(keepends=True)
    lead = len(lines)
    while lead > 0 and lines[lead - 1].lstrip().startswith("#"):
        lead -= 1
    if lead < len(lines) and lead > 0 and not lines[lead - 1].strip():
        before, after = "".join(lines[:lead]), "".join(lines[lead:]) + after
    if before and not before.endswith("\n"):
        before += newline
    elif before.endswith("\n") and not before.endswith("\r\n") and newline == "\r\n":
        before = before[:-1] + newline  # the line end tomlkit added to a last line without one
    if before.strip() and not re.search(r"\n[ \t]*\r?\n$", before):
        before += newline  # a blank line before the new table
    if after.strip() and not re.match(r"[ \t]*\r?\n", after):
        block += "\n"  # and one after it, when something follows
    return before + block.replace("\n", newline) + after


def _replace(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`."""
    target = Path(os.path.realpath(path))  # a symbolic link stays one: its target is replaced
    try:
        mode = target.stat().st_mode & 0o7777
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                                 suffix=".tmp")
    except OSError as exc:
        raise KeyWriteError(path, exc) from None
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(text.encode("utf-8"))
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except OSError as exc:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise KeyWriteError(path, exc) from None
