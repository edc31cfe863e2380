"""Request and response models of the HTTP API (kept apart, with examples for /docs)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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

MAX_TEXT = 10_000  # longer texts are 422; the language refuses over 2,000 with a located error


class ErrorInfo(BaseModel):
    code: str
    message: str
    column: int | None = None
    end_column: int | None = None
    hint: str | None = None


class PreviewRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"expression": "3*x^2 + 2"}]})
    expression: str = Field(max_length=MAX_TEXT)
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
    answer: str = Field(max_length=MAX_TEXT)


class CheckRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"reference": "2/3", "answer": "0.67", "options": {"relative_tolerance": 0.01}}]})
    reference: str = Field(max_length=MAX_TEXT)
    answer: str = Field(max_length=MAX_TEXT)
    options: dict[str, Any] = Field(default_factory=dict)


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
    detail: dict[str, Any] = Field(default_factory=dict)
