"""Make `batch_fns` importable by name, in this process and in the worker processes."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.fixture(autouse=True)
def _batch_fns_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # Workers receive the parent's sys.path when they start, so this reaches them too.
    monkeypatch.syspath_prepend(str(HERE))
