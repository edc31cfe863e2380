"""Answer keys: TOML files of quiz questions, their validation, linting and authoring."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .model import (
    AnswerKey,
    KeyProblem,
    Question,
    UnknownQuestion,
    load_key,
    load_keys,
    parse_key,
)

__all__ = [
    "AnswerKey",
    "KeyProblem",
    "Question",
    "UnknownQuestion",
    "load_key",
    "load_keys",
    "load_resolver",
    "parse_key",
]


# What a key's question decides: a line that gives its own would be graded by the key's anyway.
_KEY_GIVES = ("reference", "options")


def load_resolver(path: str | Path) -> Callable[[Any], dict[str, Any]]:
    """For `grade-batch --key`: maps `{"id", "question", "answer"}` to a grading item.

    `path` is one key file, or a folder of them (questions then named `quiz/question`).
    Raises UnknownQuestion (a LookupError) or ValueError (malformed line); the batch engine turns
    either into an `error` line and goes on.
    """
    path = Path(path)
    keys = load_keys(path) if path.is_dir() else {(key := load_key(path)).quiz: key}
    if not keys:
        raise KeyProblem("no answer keys (*.toml) in the folder", path=str(path))
    from .lint import lint_problems

    problems = lint_problems(keys.values())
    if problems:  # as `serve` does: the key would grade learners as its examples say it must not
        raise KeyProblem("the answer key does not lint (see `mathgrader key lint`):\n"
                         + "\n".join(problems), path=str(path))

    def question(question_id: str) -> Question:
        quiz, sep, _ = question_id.partition("/")
        if sep:
            if quiz not in keys:
                raise UnknownQuestion(f"unknown quiz {quiz!r}")
            return keys[quiz].question(question_id)
        if len(keys) == 1:
            return next(iter(keys.values())).question(question_id)
        raise UnknownQuestion(f"name the quiz too: \"<quiz>/{question_id}\"")

    def resolve(item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise ValueError("each line must be a JSON object")
        question_id = item.get("question")
        if not isinstance(question_id, str):
            raise ValueError('the line needs a "question" id')
        if not isinstance(item.get("answer"), str):
            raise ValueError('the line needs an "answer" string')
        for name in _KEY_GIVES:
            if item.get(name) not in (None, {}, "", []):
                raise ValueError(f'with --key the answer key gives the {name}: remove "{name}"'
                                 ' from the line, or grade without --key')
        return question(question_id).grading_item(item["answer"])

    return resolve
