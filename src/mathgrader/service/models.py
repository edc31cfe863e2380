"""Request and response models of the HTTP API (kept apart, with examples for /docs)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "BatchRequest",
    "BatchResponse",
    "CheckRequest",
    "ErrorInfo",
    "GradeRequest",
    "GradeResponse",
    "Health",
    "PreviewRequest",
    "PreviewResponse",
]

# A reference longer than this is a malformed request (422). Learner text (an expression or an
# answer) has no bound here but the body's: the language refuses it past 2,000 characters with
# the learner-facing `too_long` error, which is the answer a learner who pasted too much gets.
MAX_TEXT = 10_000
# Real options nest three levels (feedback -> entry -> field). Deeper JSON is refused here: the
# item is pickled on its way to a worker, and pickling recurses, so a few hundred levels would
# raise inside the grading pool's dispatcher instead of failing this one request.
MAX_OPTIONS_DEPTH = 16


def _options_problem(options: dict[str, Any]) -> str | None:
    """Why `options` cannot be graded, or None. Iterative: no recursion limit to hit.

    Besides depth: text that is not Unicode (a lone surrogate, `"\\udfff"`). Typed string
    fields refuse it already; in options it would come back in a message and fail the response.
    """
    stack: list[tuple[Any, int]] = [(options, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return "options must be valid Unicode text (a lone surrogate is not)"
        elif isinstance(node, dict | list):
            if level > MAX_OPTIONS_DEPTH:
                return f"options nest deeper than {MAX_OPTIONS_DEPTH} levels"
            children = [*node, *node.values()] if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
    return None


def _unicode(text: str) -> str:
    # A bounded `str` refuses a lone surrogate (`"\\ud800"`) by itself; learner text has no
    # bound, so it is refused here, as the same 422.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError(
            "string_unicode",
            "Input should be a valid string, unable to parse raw data as a unicode string",
        ) from None
    return text


LearnerText = Annotated[str, AfterValidator(_unicode)]


class ErrorInfo(BaseModel):
    code: str
    message: str
    column: int | None = None
    end_column: int | None = None
    hint: str | None = None


class PreviewRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"expression": "3*x^2 + 2"}]})
    expression: LearnerText
    list: bool = Field(default=False, description="Accept a comma-separated list of answers.")


class PreviewResponse(BaseModel):
    ok: bool
    latex: str | None = None
    mathml: str | None = None
    text: str | None = None
    variables: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    error: ErrorInfo | None = None


class GradeRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={
        "examples": [{"question": "calc1-week2/power-rule", "answer": "3*x^2 + 2"}]})
    question: str = Field(max_length=300, description='"<quiz>/<question>"')
    answer: LearnerText


class CheckRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"reference": "2/3", "answer": "0.67", "options": {"relative_tolerance": 0.01}}]})
    reference: str = Field(max_length=MAX_TEXT)
    answer: LearnerText
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("options")
    @classmethod
    def _usable(cls, options: dict[str, Any]) -> dict[str, Any]:
        problem = _options_problem(options)
        if problem is not None:
            raise ValueError(problem)
        return options


class GradeResponse(BaseModel):
    verdict: Literal["correct", "incorrect", "invalid", "error", "timeout"]
    score: float
    feedback: str | None = None
    error: dict[str, Any] | None = None
    preview: PreviewResponse | None = None


class BatchRequest(BaseModel):
    items: list[GradeRequest | CheckRequest]


class BatchResponse(BaseModel):
    results: list[GradeResponse]


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    reason: str | None = Field(default=None, description="Why the service is degraded.")
    detail: dict[str, Any] = Field(default_factory=dict)
