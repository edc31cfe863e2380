"""Property-based API testing from the OpenAPI schema (schemathesis): no input gives a 5xx, and
every response matches the documented schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mathgrader.service.app import create_app
from mathgrader.service.settings import Settings

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    var = tmp_path_factory.mktemp("schema")
    application = create_app(Settings(keys=EXAMPLES, var_dir=var / "var", workers=1,
                                      database_url=f"sqlite:///{var}/log.db"))
    with TestClient(application):  # runs the lifespan: the grading pool is up
        yield application


@pytest.fixture(scope="module")
def api_schema(app: object) -> object:
    return schemathesis.openapi.from_asgi("/openapi.json", app)


# Driven by hand rather than by schemathesis' pytest plugin, which does not support pytest 9.
@pytest.mark.slow
def test_api_never_errors(api_schema: object) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]  # type: ignore[attr-defined]
    assert len(operations) >= 6
    for operation in operations:
        _fuzz(operation)


def _fuzz(operation: object) -> None:
    label = operation.label  # type: ignore[attr-defined]

    @given(case=operation.as_strategy())  # type: ignore[attr-defined]
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck),
              derandomize=True)
    def run(case: object) -> None:
        response = case.call()  # type: ignore[attr-defined]
        assert response.status_code < 500, (label, response.text)
        case.validate_response(response)  # type: ignore[attr-defined]

    run()
