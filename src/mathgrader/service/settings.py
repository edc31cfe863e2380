"""Service settings: validated once, at start, from arguments and MATHGRADER_* variables."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..batch.pool import DEFAULT_GRADE_FN

__all__ = ["Settings", "bundled_keys"]


def bundled_keys() -> Path:
    """The example answer keys: shipped in the wheel, or the checkout's examples/ folder."""
    packaged = resources.files("mathgrader").joinpath("examples")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "examples"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MATHGRADER_", frozen=True, extra="ignore")

    keys: Path = Field(default_factory=bundled_keys, description="Folder of answer-key files.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL of the log.")
    var_dir: Path = Field(default=Path("var"), description="Where SQLite and spools live.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=2, ge=1, le=64, description="Grading worker processes.")
    timeout: float = Field(default=2.0, gt=0, le=60, description="Budget of one check, s.")
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    max_batch_items: int = Field(default=500, ge=1)
    # A request never waits longer than this for its checks, a whole batch included: what is
    # not checked by then is answered `timeout` (code `request_timeout`), never dropped.
    request_timeout: float = Field(default=10.0, gt=0, le=300,
                                   description="Longest wait of one grading request, s.")
    # Past this many checks in flight, grading requests get 503 with Retry-After at once,
    # rather than a `timeout` that would read as a fault of the learner's answer.
    max_queue: int = Field(default=1000, ge=1, description="Checks in flight before 503.")
    grade_fn: str = Field(default=DEFAULT_GRADE_FN,
                          description="Grading function, 'module:function' (tests use others).")
    cors_origins: list[str] = Field(default_factory=list)
    record: bool = Field(default=True, description="Record graded submissions.")
