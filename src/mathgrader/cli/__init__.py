"""Command-line interface: `mathgrader preview | check | grade-batch | ...`."""

from .app import app, main

__all__ = ["app", "main"]
