"""Pasted symbols through the HTTP preview: read as the syntax, with a note about the reading."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mathgrader.service.app import create_app
from mathgrader.service.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    var = tmp_path_factory.mktemp("var")
    settings = Settings(keys=EXAMPLES, var_dir=var / "var", workers=1, timeout=2.0,
                        database_url=f"sqlite:///{var}/log.db")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_preview_reads_pasted_symbols_with_a_warning(client: TestClient) -> None:
    shown = client.post("/api/v1/preview", json={"expression": "2\u00d7\u03c0"}).json()
    assert shown["ok"] is True
    assert shown["text"] == "2*pi"
    assert shown["variables"] == []
    assert shown["warnings"] == ["read \u00d7 as *", "read \u03c0 as pi"]
    refused = client.post("/api/v1/preview", json={"expression": "2*\u0445"}).json()
    assert refused["ok"] is False
    assert refused["error"]["code"] == "unsupported_character"
    assert (refused["error"]["column"], refused["error"]["end_column"]) == (3, 4)
