"""Authoring keys from the command line with tomlkit, so comments and layout survive edits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomlkit

from .model import KeyProblem, parse_key

__all__ = ["add_question", "new_key"]


def new_key(path: str | Path, quiz: str, title: str) -> None:
    """Create a key file with its [quiz] table; refuses to overwrite."""
    path = Path(path)
    if path.exists():
        raise KeyProblem("the file already exists", path=str(path),
                         hint="use `mathgrader key add` to add questions to it")
    document = tomlkit.document()
    document.add(tomlkit.comment("Answer key: mathgrader key lint checks it, key add extends it."))
    table = tomlkit.table()
    table.add("id", quiz)
    table.add("title", title)
    document.add("quiz", table)
    text = tomlkit.dumps(document)
    parse_key(text + '\n[[questions]]\nid = "q"\nanswer = "1"\n', str(path))  # validates quiz id
    path.write_text(text, encoding="utf-8")


def add_question(path: str | Path, question: dict[str, Any]) -> None:
    """Append a [[questions]] table; the edited file is validated before it is written."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KeyProblem(f"cannot read the file: {exc.strerror}", path=str(path)) from None
    try:
        document = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise KeyProblem(f"TOML syntax error: {exc}", path=str(path), line=exc.line,
                         column=exc.col) from None
    questions = document.get("questions")
    if questions is None:
        questions = tomlkit.aot()
        document.append("questions", questions)
    table = tomlkit.table()
    for name, value in question.items():
        if value is None or value == [] or value == {}:
            continue
        if isinstance(value, dict):
            inline = tomlkit.inline_table()
            inline.update(value)
            table.add(name, inline)
        else:
            table.add(name, value)
    questions.append(table)
    updated = tomlkit.dumps(document)
    parse_key(updated, str(path))  # raises KeyProblem (duplicate id, bad answer) before writing
    path.write_text(updated, encoding="utf-8")
