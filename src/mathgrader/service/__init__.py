"""The grading service: HTTP API, quiz pages, help center and submissions log (FastAPI)."""

from .app import create_app
from .settings import Settings

__all__ = ["Settings", "create_app"]
