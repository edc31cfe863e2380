"""Command-line interface: `mathgrader preview | check | grade-batch | ...`.

`main` is the `mathgrader` command. `preview`, `check` and `grade-batch` with plain arguments are
answered by `fast` without importing Typer (its start-up costs more than a preview); everything
else (help, usage errors, the other commands) goes to the Typer app in `commands.py`, imported
only then and also reachable as `mathgrader.cli.app`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .commands import app

__all__ = ["BATCH_PRELOAD", "app", "main"]

# What the batch fork server imports beyond the grading modules: warms the parser and the numpy
# and mpmath kits, so every worker (replacements included) starts warm; SymPy is loaded by the
# workers that need it. `mathgrader.cli` itself is cheap to import in a worker that re-runs the
# `mathgrader` script.
BATCH_PRELOAD = ("mathgrader.batch._warmup",)


def main() -> None:
    """The `mathgrader` command."""
    args = sys.argv[1:]
    _start_batch_early(args)
    from .fast import run

    status = run(args)
    if status is not None:
        sys.exit(status)
    from .commands import app

    app()


def _start_batch_early(args: list[str]) -> None:
    """For `grade-batch` on this machine, start the fork server and its preload (about half a
    second of numpy, mpmath and the parser) before the arguments are read, on the other core.
    A command that then fails its usage check leaves nothing behind: the server exits with this
    process."""
    if not args or args[0] != "grade-batch" or any(
        arg in ("--help", "dask", "--engine=dask") for arg in args[1:]
    ):
        return
    from ..batch.pool import start_fork_server

    start_fork_server(preload=BATCH_PRELOAD)


def __getattr__(name: str) -> Any:
    # `mathgrader.cli.app`, the Typer app, is imported on first use.
    if name == "app":
        from .commands import app

        return app
    raise AttributeError(name)
