"""Answer keys: one TOML file per quiz, loaded, validated and frozen.

Every problem is reported for the course author with the file, the question id and the line and
column: TOML syntax errors (from tomllib) and expression errors alike (located by finding the
question's block in the text). A loaded key is immutable and shared by the CLI, the batch engine
and the service.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..checker.options import GradeOptions
from ..errors import ConfigError, InputError, MathgraderError
from ..language.limits import check_sizes
from ..language.parser import parse_tree

__all__ = ["AnswerKey", "KeyProblem", "Question", "UnknownQuestion", "load_key", "load_keys",
           "parse_key"]

OPTION_FIELDS = ("relative_tolerance", "absolute_tolerance", "variables", "form", "forbid",
                 "list", "feedback", "timeout", "seed")
QUESTION_FIELDS = ("id", "prompt", "answer", "answers", "accept", "reject", *OPTION_FIELDS)
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class KeyProblem(ConfigError):
    """A problem in an answer key, located for the author who must fix it."""

    def __init__(self, message: str, *, path: str, question: str | None = None,
                 line: int | None = None, column: int | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.question = question
        self.line = line
        self.column = column
        self.hint = hint

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        subject = f" question {self.question!r}:" if self.question else ""
        text = f"{where}:{subject} {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"code": "answer_key", "message": str(self), "path": self.path,
                "question": self.question, "line": self.line, "column": self.column}


class UnknownQuestion(MathgraderError, LookupError):
    """A submission names a question (or quiz) that no loaded key has."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        return {"code": "unknown_question", "message": self.message}


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    quiz: str
    prompt: str
    references: tuple[str, ...]
    options: Mapping[str, Any]  # validated grading options, JSON-ready (answers included)
    accept: tuple[str, ...] = ()
    reject: tuple[str, ...] = ()
    line: int | None = None

    @property
    def full_id(self) -> str:
        return f"{self.quiz}/{self.id}"

    @property
    def reference(self) -> str:
        return self.references[0]

    def grading_item(self, answer: Any) -> dict[str, Any]:
        """The `{"reference", "answer", "options"}` item that grades `answer` here."""
        return {"reference": self.reference, "answer": answer, "options": dict(self.options)}


@dataclass(frozen=True, slots=True)
class AnswerKey:
    quiz: str
    title: str
    path: str
    questions: tuple[Question, ...]
    _by_id: Mapping[str, Question] = field(default_factory=dict, repr=False, compare=False)

    def question(self, question_id: str) -> Question:
        """A question by its id or its full `quiz/question` id; `UnknownQuestion` if none."""
        local = question_id
        if "/" in question_id:
            quiz, _, local = question_id.partition("/")
            if quiz != self.quiz:
                raise UnknownQuestion(f"unknown quiz {quiz!r} (this key is {self.quiz!r})")
        if local not in self._by_id:
            raise UnknownQuestion(f"unknown question {question_id!r} in quiz {self.quiz!r}")
        return self._by_id[local]


class _Locator:
    """Finds lines and columns of fields in the TOML text, for error messages."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.blocks = [i for i, line in enumerate(self.lines)
                       if re.match(r"^\s*\[\[\s*questions\s*\]\]", line)]

    def _block(self, index: int | None) -> range:
        if index is None:
            return range(len(self.lines))
        if index >= len(self.blocks):
            return range(0)
        start = self.blocks[index]
        end = len(self.lines)
        for j in range(start + 1, len(self.lines)):
            if re.match(r"^\s*\[", self.lines[j]):
                end = j
                break
        return range(start, end)

    def header(self, index: int) -> int | None:
        return self.blocks[index] + 1 if index < len(self.blocks) else None

    def find(self, index: int | None, name: str, value: str | None = None
             ) -> tuple[int | None, int | None]:
        """1-based line and column of `name = ...` (and of `value`'s text inside it)."""
        for i in self._block(index):
            line = self.lines[i]
            if not re.match(rf"^\s*{re.escape(name)}\s*=", line):
                continue
            if value is None:
                return i + 1, line.index(name) + 1
            for quote in ('"', "'"):
                at = line.find(quote + value + quote)
                if at >= 0:
                    return i + 1, at + 2
            return i + 1, line.index("=") + 2
        if value is not None:  # multi-line arrays: look for the string anywhere in the block
            for i in self._block(index):
                for quote in ('"', "'"):
                    at = self.lines[i].find(quote + value + quote)
                    if at >= 0:
                        return i + 1, at + 2
        return (self.header(index) if index is not None else None), None


def load_key(path: str | Path) -> AnswerKey:
    """Load and validate one answer key; raises `KeyProblem`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyProblem(f"cannot read the file: {exc}", path=str(path)) from None
    return parse_key(text, str(path))


def load_keys(folder: str | Path) -> dict[str, AnswerKey]:
    """Every `*.toml` key in a folder, by quiz id; duplicate quiz ids are refused."""
    keys: dict[str, AnswerKey] = {}
    for path in sorted(Path(folder).glob("*.toml")):
        key = load_key(path)
        if key.quiz in keys:
            raise KeyProblem(f"quiz id {key.quiz!r} is also used by {keys[key.quiz].path}",
                             path=str(path))
        keys[key.quiz] = key
    return keys


def parse_key(text: str, path: str = "<key>") -> AnswerKey:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        line, column = (int(match[1]), int(match[2])) if match else (None, None)
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        raise KeyProblem(f"TOML syntax error: {message}", path=path, line=line, column=column,
                         hint="see the answer-key format in the README") from None
    locate = _Locator(text)
    unknown = sorted(set(data) - {"quiz", "defaults", "questions"})
    if unknown:
        line, column = locate.find(None, unknown[0])
        raise KeyProblem(f"unknown table {unknown[0]!r}", path=path, line=line, column=column,
                         hint="a key has [quiz], [defaults] and [[questions]]")
    quiz = data.get("quiz")
    if not isinstance(quiz, dict):
        raise KeyProblem("the [quiz] table is missing", path=path, line=1,
                         hint='start the file with [quiz] id = "..." title = "..."')
    quiz_id = quiz.get("id")
    if not isinstance(quiz_id, str) or not _SLUG.match(quiz_id):
        line, column = locate.find(None, "id")
        raise KeyProblem("[quiz] id must be a short name of letters, digits, '-', '_' or '.'",
                         path=path, line=line, column=column)
    title = quiz.get("title", quiz_id)
    if not isinstance(title, str):
        raise KeyProblem("[quiz] title must be a string", path=path)
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise KeyProblem("[defaults] must be a table", path=path)
    bad = sorted(set(defaults) - set(OPTION_FIELDS))
    if bad:
        line, column = locate.find(None, bad[0])
        raise KeyProblem(f"unknown option {bad[0]!r} in [defaults]", path=path, line=line,
                         column=column, hint=f"known options: {', '.join(OPTION_FIELDS)}")
    try:
        GradeOptions.from_mapping(defaults)
    except ConfigError as exc:
        line, column = locate.find(None, exc.field) if exc.field else (None, None)
        raise KeyProblem(f"[defaults]: {exc.message}", path=path, line=line,
                         column=column) from None
    raw_questions = data.get("questions", [])
    if not isinstance(raw_questions, list) or not raw_questions:
        raise KeyProblem("the key has no [[questions]]", path=path,
                         hint="add at least one [[questions]] table")
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_questions):
        question = _question(raw, index, quiz_id, defaults, path, locate)
        if question.id in seen:
            raise KeyProblem(
                f"the id {question.id!r} is used twice (also on line {seen[question.id]})",
                path=path, question=question.id, line=question.line,
                hint="give every question its own id")
        seen[question.id] = question.line or 0
        questions.append(question)
    by_id = MappingProxyType({q.id: q for q in questions})
    return AnswerKey(quiz_id, title, path, tuple(questions), by_id)


def _question(raw: Any, index: int, quiz: str, defaults: Mapping[str, Any], path: str,
              locate: _Locator) -> Question:
    header = locate.header(index)
    if not isinstance(raw, dict):
        raise KeyProblem("each [[questions]] entry must be a table", path=path, line=header)
    qid = raw.get("id")
    if not isinstance(qid, str) or not _SLUG.match(qid):
        raise KeyProblem(f"question {index + 1} needs an id of letters, digits, '-', '_' or '.'",
                         path=path, line=header, hint='id = "power-rule"')

    def problem(message: str, name: str | None = None, value: str | None = None,
                column_offset: int = 0, hint: str | None = None) -> KeyProblem:
        line, column = locate.find(index, name, value) if name else (header, None)
        if column is not None:
            column += column_offset
        return KeyProblem(message, path=path, question=qid, line=line, column=column, hint=hint)

    unknown = sorted(set(raw) - set(QUESTION_FIELDS))
    if unknown:
        raise problem(f"unknown field {unknown[0]!r}", unknown[0],
                      hint=f"known fields: {', '.join(QUESTION_FIELDS)}")
    prompt = raw.get("prompt", "")
    if not isinstance(prompt, str):
        raise problem("prompt must be a string", "prompt")
    if ("answer" in raw) == ("answers" in raw):
        raise problem("give exactly one of answer = \"...\" or answers = [\"...\", ...]",
                      "answers" if "answers" in raw else None)
    references = raw["answers"] if "answers" in raw else [raw["answer"]]
    field_name = "answers" if "answers" in raw else "answer"
    if (not isinstance(references, list) or not references
            or not all(isinstance(r, str) for r in references)):
        raise problem(f"{field_name} must be a string (or a list of strings)", field_name)
    examples: dict[str, tuple[str, ...]] = {}
    for name in ("accept", "reject"):
        values = raw.get(name, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise problem(f"{name} must be a list of strings", name)
        examples[name] = tuple(values)
    options: dict[str, Any] = dict(defaults)
    options.update({k: raw[k] for k in OPTION_FIELDS if k in raw})
    options["answers"] = list(references)
    try:
        GradeOptions.from_mapping(options)
    except ConfigError as exc:
        located = exc.field if exc.field in raw else None
        raise problem(exc.message, located, hint="see the grading options in the README") from None
    allow_list = options.get("list") is not None
    declared = set(options.get("variables", {}))
    for reference in references:
        _check_expression(reference, allow_list, declared, problem, field_name)
    for rule in options.get("feedback", []):
        _check_expression(rule["answer"], allow_list, declared, problem, "feedback")
    return Question(qid, quiz, prompt, tuple(references), MappingProxyType(options),
                    examples["accept"], examples["reject"], header)


def _check_expression(text: str, allow_list: bool, declared: set[str], problem: Any,
                      field_name: str) -> None:
    try:
        parsed = parse_tree(text, allow_list=allow_list, variables=declared)
        for node in parsed.items:
            check_sizes(node, text)
    except InputError as exc:
        raise problem(
            f"{field_name} {text!r} does not parse: {exc.message}", field_name, text,
            column_offset=(exc.column or 1) - 1, hint=exc.hint,
        ) from None
