"""Answer keys: one TOML file per quiz, loaded, validated and frozen.

Every problem is reported for the course author with the file, the question id and the line and
column: TOML syntax errors (from tomllib) and expression errors alike (located by finding the
question's block in the text). A loaded key is immutable and shared by the CLI, the batch engine
and the service.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..checker.options import GradeOptions
from ..errors import ConfigError, InputError, MathgraderError
from ..language.limits import check_sizes
from ..language.parser import parse_tree

__all__ = ["AnswerKey", "KeyProblem", "Question", "UnknownQuestion", "load_key", "load_keys",
           "parse_key", "validate_question", "validate_quiz"]

QUIZ_FIELDS = ("id", "title")
OPTION_FIELDS = ("relative_tolerance", "absolute_tolerance", "variables", "form", "forbid",
                 "list", "feedback", "timeout", "seed")
QUESTION_FIELDS = ("id", "prompt", "answer", "answers", "accept", "reject", *OPTION_FIELDS)
_TABLES = ("quiz", "defaults", "questions")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SLUG_RULE = "a short name of letters, digits, '-', '_' or '.'"

# Where a problem is, as KeyProblem keyword arguments: {"line", "column"} in a file, or
# {"flag", "column"} on the command line. A table is None (top level), "quiz", "defaults",
# or the index of a [[questions]] table.
Place = dict[str, Any]
TableRef = str | int | None


class KeyProblem(ConfigError):
    """A problem in an answer key, located for the author who must fix it.

    In a file it is located by line and column; in a key being written from the command line
    (`key new`, `key add`) by the flag that gave the value (`flag`, e.g. `--answer "3x"`) and
    the column inside that value, since the file has no such line yet.
    """

    def __init__(self, message: str, *, path: str, question: str | None = None,
                 line: int | None = None, column: int | None = None,
                 hint: str | None = None, flag: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.question = question
        self.line = line
        self.column = column
        self.hint = hint
        self.flag = flag

    def __str__(self) -> str:
        if self.flag is not None:
            where = self.flag
            if self.column is not None:
                where += f" (column {self.column})"
            text = f"{where}: {self.message}"
        else:
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
    # ("reference" | "accept" | "reject", index) -> (line, column) of that string in the file
    places: Mapping[tuple[str, int], tuple[int | None, int | None]] = field(
        default_factory=dict, repr=False, compare=False)

    @property
    def full_id(self) -> str:
        return f"{self.quiz}/{self.id}"

    @property
    def reference(self) -> str:
        return self.references[0]

    def place(self, role: str, index: int) -> tuple[int | None, int | None]:
        """Line and column of the `index`-th reference, accept or reject string, if known."""
        return self.places.get((role, index), (self.line, None))

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


# A table header ([name] or [[name]]) and a line that starts a `key = ...` (or `key.sub = ...`).
_HEADER = re.compile(r"^\s*\[(\[?)\s*([^\[\]]*?)\s*\]")
_KEY_LINE = re.compile(r"""^\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')\s*[.=]""")


def _unquote(name: str) -> str:
    return name.strip().strip("\"'")


class _Locator:
    """Finds lines and columns of tables, fields and strings in the TOML text.

    A line scan, not a parser: good enough to point an author at the right place, and it never
    decides whether a key is valid (tomllib does).
    """

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.headers: list[tuple[int, str, bool]] = []  # line index, dotted name, [[array]]
        for i, line in enumerate(self.lines):
            match = _HEADER.match(line)
            if match:
                self.headers.append((i, match[2], bool(match[1])))
        self.questions = [i for i, name, array in self.headers
                          if array and _unquote(name) == "questions"]

    def _start(self, table: TableRef) -> int | None:
        """Line index of the table's header; None for the top level or a missing table."""
        if isinstance(table, int):
            return self.questions[table] if table < len(self.questions) else None
        for i, name, array in self.headers:
            if not array and _unquote(name) == table:
                return i
        return None

    def _block(self, table: TableRef) -> range:
        start = self._start(table)
        if start is None:
            if table is not None:
                return range(0)
            start = -1
        end = next((i for i, _, _ in self.headers if i > start), len(self.lines))
        return range(start + 1, end)

    def header(self, table: TableRef) -> int | None:
        start = self._start(table)
        return None if start is None else start + 1

    def _field(self, table: TableRef, name: str) -> int | None:
        pattern = re.compile(rf"""^\s*["']?{re.escape(name)}["']?\s*[.=]""")
        return next((i for i in self._block(table) if pattern.match(self.lines[i])), None)

    def find(self, table: TableRef, name: str) -> tuple[int | None, int | None]:
        """1-based line and column of the field `name` (or of a [table.name] header)."""
        i = self._field(table, name)
        if i is not None:
            return i + 1, self.lines[i].index(name) + 1
        if isinstance(table, str):
            for i, header, _ in self.headers:
                parts = [_unquote(part) for part in header.split(".")]
                if parts[:2] == [table, name]:
                    return i + 1, self.lines[i].index(name) + 1
        return self.header(table), None

    def entries(self, table: TableRef, name: str, values: Sequence[str]
                ) -> list[tuple[int | None, int | None]]:
        """Line and column of the first character of each string of the field `name`, in order.

        Strings are found as written between quotes, from the `name =` line up to the next
        field (arrays may span lines); one with escapes in it gets its field's line only.
        """
        first = self._field(table, name)
        if first is None:
            return [(self.header(table), None)] * len(values)
        block = self._block(table)
        last = next((i for i in range(first + 1, block.stop) if _KEY_LINE.match(self.lines[i])),
                    block.stop)
        places: list[tuple[int | None, int | None]] = []
        line, column = first, self.lines[first].find("=") + 1
        for value in values:
            found = None
            for i in range(line, last):
                text = self.lines[i]
                starts = [at for at in (text.find(q + value + q, column if i == line else 0)
                                        for q in ('"', "'")) if at >= 0]
                if starts:
                    found = i, min(starts)
                    break
            if found is None:
                places.append((first + 1, None))
                continue
            line, column = found[0], found[1] + len(value) + 2
            places.append((found[0] + 1, found[1] + 2))
        return places

    def table_line(self, name: str) -> tuple[int | None, int | None]:
        """Where a top-level table or key first appears: its header, or its `name = ...`."""
        for i, header, _ in self.headers:
            if _unquote(header.split(".")[0]) == name:
                return i + 1, self.lines[i].index(name) + 1
        return self.find(None, name)

    def place(self, table: TableRef, name: str | None = None, value: str | None = None,
              offset: int | None = None) -> Place:
        if name is None:
            return {"line": self.header(table)}
        if value is None:
            line, column = self.find(table, name)
        else:
            line, column = self.entries(table, name, [value])[0]
            if column is not None:
                column += offset or 0
        return {"line": line, "column": column}


class _Flags:
    """Locates problems in the values of command-line flags, for a key not yet written."""

    def __init__(self, path: str, flags: Mapping[str, str]) -> None:
        self.path = path
        self.flags = flags  # field name -> flag, e.g. "answer" -> "--answer"

    def entries(self, table: TableRef, name: str, values: Sequence[str]
                ) -> list[tuple[int | None, int | None]]:
        return [(None, None)] * len(values)

    def place(self, table: TableRef, name: str | None = None, value: str | None = None,
              offset: int | None = None) -> Place:
        flag = self.flags.get(name) if name else None
        if flag is None:
            return {}
        if value is None:
            return {"flag": flag}
        shown = json.dumps(value, ensure_ascii=False)
        return {"flag": f"{flag} {shown}", "column": None if offset is None else offset + 1}


_Where = _Locator | _Flags


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
    data = _load_toml(text, path)
    locate = _Locator(text, path)
    quiz_id, title, defaults = _header(data, locate)
    raw_questions = data.get("questions", [])
    if not isinstance(raw_questions, list) or not raw_questions:
        raise KeyProblem("the key has no [[questions]]", path=path,
                         hint="add at least one [[questions]] table")
    questions = _questions(raw_questions, quiz_id, defaults, locate)
    by_id = MappingProxyType({q.id: q for q in questions})
    return AnswerKey(quiz_id, title, path, tuple(questions), by_id)


def validate_quiz(path: str, quiz: Mapping[str, Any], flags: Mapping[str, str]) -> None:
    """Check the fields of a new [quiz] table; problems name the flag (`flags`: field -> flag)."""
    _quiz({"quiz": dict(quiz)}, _Flags(path, flags))


def validate_question(text: str, path: str, question: Mapping[str, Any],
                      flags: Mapping[str, str]) -> None:
    """Check `question` as one more [[questions]] table of the key `text` (which may have none).

    Problems of the key itself are located in its file; problems of the new question name the
    flag that gave the value (`flags`: field -> flag), since it is in no file yet.
    """
    data = _load_toml(text, path)
    locate = _Locator(text, path)
    quiz_id, _, defaults = _header(data, locate)
    raw_questions = data.get("questions", [])
    if not isinstance(raw_questions, list):
        raise KeyProblem("questions must be [[questions]] tables", path=path,
                         **locate.place(None, "questions"))
    existing = _questions(raw_questions, quiz_id, defaults, locate)
    where = _Flags(path, flags)
    new = _question(dict(question), len(raw_questions), quiz_id, defaults, where)
    for other in existing:
        if other.id == new.id:
            line = f" on line {other.line}" if other.line else ""
            raise KeyProblem(f"the quiz already has a question {new.id!r}{line}", path=path,
                             question=new.id, hint="give every question its own id",
                             **where.place(None, "id", new.id))


def _load_toml(text: str, path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        line, column = (int(match[1]), int(match[2])) if match else (None, None)
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        raise KeyProblem(f"TOML syntax error: {message}", path=path, line=line, column=column,
                         hint="see the answer-key format in the README") from None


def _header(data: Mapping[str, Any], locate: _Locator
            ) -> tuple[str, str, Mapping[str, Any]]:
    """The checked quiz id, title and defaults of a key."""
    unknown = sorted(set(data) - set(_TABLES))
    if unknown:
        line, column = locate.table_line(unknown[0])
        raise KeyProblem(f"unknown table {unknown[0]!r}", path=locate.path, line=line,
                         column=column, hint="a key has [quiz], [defaults] and [[questions]]")
    quiz_id, title = _quiz(data, locate)
    return quiz_id, title, _defaults(data, locate)


def _quiz(data: Mapping[str, Any], locate: _Where) -> tuple[str, str]:
    path = locate.path
    quiz = data.get("quiz")
    if not isinstance(quiz, dict):
        raise KeyProblem("the [quiz] table is missing", path=path, line=1,
                         hint='start the file with [quiz] id = "..." title = "..."')
    unknown = sorted(set(quiz) - set(QUIZ_FIELDS))
    if unknown:
        name = unknown[0]
        hint = f"[quiz] has {' and '.join(QUIZ_FIELDS)}"
        if name in ("questions", "defaults"):
            table = "[[questions]]" if name == "questions" else "[defaults]"
            hint = f"{table} is a table of its own, written after [quiz], not a field of it"
        raise KeyProblem(f"unknown field {name!r} in [quiz]", path=path, hint=hint,
                         **locate.place("quiz", name))
    quiz_id = quiz.get("id")
    if not isinstance(quiz_id, str) or not _SLUG.match(quiz_id):
        value = quiz_id if isinstance(quiz_id, str) else None
        raise KeyProblem(f"[quiz] id must be {_SLUG_RULE}", path=path,
                         **locate.place("quiz", "id", value))
    title = quiz.get("title", quiz_id)
    if not isinstance(title, str):
        raise KeyProblem("[quiz] title must be a string", path=path,
                         **locate.place("quiz", "title"))
    return quiz_id, title


def _defaults(data: Mapping[str, Any], locate: _Locator) -> Mapping[str, Any]:
    path = locate.path
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        line, column = locate.table_line("defaults")
        raise KeyProblem("[defaults] must be a table", path=path, line=line, column=column)
    bad = sorted(set(defaults) - set(OPTION_FIELDS))
    if bad:
        raise KeyProblem(f"unknown option {bad[0]!r} in [defaults]", path=path,
                         hint=f"known options: {', '.join(OPTION_FIELDS)}",
                         **locate.place("defaults", bad[0]))
    try:
        GradeOptions.from_mapping(defaults)
    except ConfigError as exc:
        place = locate.place("defaults", exc.field) if exc.field else {}
        raise KeyProblem(f"[defaults]: {exc.message}", path=path, **place) from None
    return defaults


def _questions(raw_questions: list[Any], quiz: str, defaults: Mapping[str, Any],
               locate: _Locator) -> list[Question]:
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_questions):
        question = _question(raw, index, quiz, defaults, locate)
        if question.id in seen:
            raise KeyProblem(
                f"the id {question.id!r} is used twice (also on line {seen[question.id]})",
                path=locate.path, question=question.id, line=question.line,
                hint="give every question its own id")
        seen[question.id] = question.line or 0
        questions.append(question)
    return questions


def _question(raw: Any, index: int, quiz: str, defaults: Mapping[str, Any],
              locate: _Where) -> Question:
    path = locate.path
    header = locate.header(index) if isinstance(locate, _Locator) else None
    if not isinstance(raw, dict):
        raise KeyProblem("each [[questions]] entry must be a table", path=path, line=header)
    qid = raw.get("id")
    if not isinstance(qid, str) or not _SLUG.match(qid):
        if not isinstance(qid, str):
            raise KeyProblem(f"question {index + 1} needs an id of letters, digits, '-', '_' "
                             "or '.'", path=path, line=header, hint='id = "power-rule"')
        raise KeyProblem(f"the question id must be {_SLUG_RULE}", path=path,
                         hint='id = "power-rule"', **locate.place(index, "id", qid))

    def problem(message: str, name: str | None = None, value: str | None = None,
                column_offset: int | None = None, hint: str | None = None) -> KeyProblem:
        return KeyProblem(message, path=path, question=qid, hint=hint,
                          **locate.place(index, name, value, column_offset))

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
    if isinstance(references, list) and not references:
        raise problem("answers = [] lists no reference: give at least one expression",
                      field_name)
    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
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
    places: dict[tuple[str, int], tuple[int | None, int | None]] = {}
    for role, name, values in (("reference", field_name, references),
                               ("accept", "accept", examples["accept"]),
                               ("reject", "reject", examples["reject"])):
        for i, place in enumerate(locate.entries(index, name, values)):
            places[(role, i)] = place
    return Question(qid, quiz, prompt, tuple(references), MappingProxyType(options),
                    examples["accept"], examples["reject"], header, MappingProxyType(places))


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
