"""The README's console sessions are executed: what it shows is what the tool prints."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mathgrader.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"


def _sessions() -> list[tuple[str, str]]:
    """(command, expected output) pairs from ```console blocks."""
    pairs: list[tuple[str, str]] = []
    for block in re.findall(r"```console\n(.*?)```", README.read_text(), flags=re.S):
        command: str | None = None
        output: list[str] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    pairs.append((command, "\n".join(output)))
                command, output = line[2:], []
            else:
                output.append(line)
        if command is not None:
            pairs.append((command, "\n".join(output)))
    return pairs


SESSIONS = _sessions()


def test_readme_has_sessions() -> None:
    assert len(SESSIONS) >= 10


@pytest.mark.parametrize(("command", "expected"), SESSIONS, ids=[c for c, _ in SESSIONS])
def test_readme_session(command: str, expected: str) -> None:
    argv = shlex.split(command)
    assert argv[0] == "mathgrader"
    result = CliRunner().invoke(app, argv[1:])
    assert result.output.rstrip("\n") == expected
