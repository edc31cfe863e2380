"""`mathgrader serve`: what it hands to uvicorn, with one HTTP process or several."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from mathgrader.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PASSED_ON = ("MATHGRADER_HOST", "MATHGRADER_PORT", "MATHGRADER_WORKERS", "MATHGRADER_TIMEOUT",
             "MATHGRADER_KEYS")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    seen: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.append((args, kwargs)))
    for name in PASSED_ON:  # unset, and so that what serve sets is undone after the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return seen


def test_one_http_process_serves_the_checked_app(calls: list[Any]) -> None:
    result = CliRunner().invoke(app, ["serve", "--port", "8123", "--keys", str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    (args, kwargs), = calls
    assert not isinstance(args[0], str)  # the app object itself
    assert kwargs["port"] == 8123 and "workers" not in kwargs
    assert "MATHGRADER_WORKERS" not in os.environ


def test_settings_not_given_as_options_come_from_the_environment(
        calls: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATHGRADER_PORT", "8125")
    monkeypatch.setenv("MATHGRADER_WORKERS", "4")
    monkeypatch.setenv("MATHGRADER_TIMEOUT", "1.5")
    result = CliRunner().invoke(app, ["serve", "--keys", str(EXAMPLES), "--http-workers", "2"])
    assert result.exit_code == 0, result.output
    (_, kwargs), = calls
    assert kwargs["port"] == 8125
    assert os.environ["MATHGRADER_WORKERS"] == "2"  # 4 from the environment, split over 2
    assert os.environ["MATHGRADER_TIMEOUT"] == "1.5"


def test_several_http_processes_build_the_app_from_the_same_settings(calls: list[Any]) -> None:
    result = CliRunner().invoke(app, ["serve", "--port", "8124", "--keys", str(EXAMPLES),
                                      "--workers", "4", "--http-workers", "2",
                                      "--timeout", "1.5"])
    assert result.exit_code == 0, result.output
    (args, kwargs), = calls
    assert args == ("mathgrader.service.app:create_app",)
    assert kwargs["factory"] is True and kwargs["workers"] == 2 and kwargs["port"] == 8124
    assert os.environ["MATHGRADER_WORKERS"] == "2"  # 4 grading processes split over 2
    assert os.environ["MATHGRADER_TIMEOUT"] == "1.5"
    assert os.environ["MATHGRADER_PORT"] == "8124"
    assert Path(os.environ["MATHGRADER_KEYS"]) == EXAMPLES


def test_keys_that_do_not_lint_are_refused_before_any_process_starts(
        calls: list[Any], tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('[quiz]\nid = "q"\ntitle = "t"\n\n[[questions]]\n'
                                       'id = "a"\nanswer = "2*x"\naccept = ["3*x"]\n')
    result = CliRunner().invoke(app, ["serve", "--keys", str(tmp_path), "--http-workers", "2"])
    assert result.exit_code == 2
    assert calls == []
