"""The exception tree, split by who reads the message.

`InputError` is for learners: it carries a stable `code`, a plain-text `message`, the 1-based
`column`/`end_column` in the learner's text and a `hint` that, when followed, gives text that
parses. `ConfigError` is for course authors (a bad reference, unknown options).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ConfigError", "InputError", "MathgraderError"]


class MathgraderError(Exception):
    """Root of every error this package raises on purpose."""


class InputError(MathgraderError):
    """Something the learner typed cannot be understood. Never contains HTML."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        column: int | None = None,
        end_column: int | None = None,
        hint: str | None = None,
        text: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.column = column
        self.end_column = end_column if end_column is not None else column
        self.hint = hint
        self.text = text

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "column": self.column,
            "end_column": self.end_column,
            "hint": self.hint,
        }

    def context(self) -> str:
        """The learner's line with a caret under the offending span, for terminals."""
        if self.text is None or self.column is None:
            return ""
        line = self.text.replace("\n", " ").replace("\t", " ")
        start = self.column - 1
        width = max(1, (self.end_column or self.column) - self.column)
        return f"{line}\n{' ' * start}{'^' * width}"

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"InputError({self.code!r}, {self.message!r}, column={self.column})"


class ConfigError(MathgraderError):
    """A reference answer or a grading option that a course author must fix."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, Any]:
        return {"code": "config", "message": self.message, "field": self.field}
