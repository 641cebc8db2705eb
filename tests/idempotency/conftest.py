"""Fixtures of the idempotency tests: the test-only endpoint on agency hosts, a dead store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.idempotency import views
from tests.security.helpers import unreachable_hotkeys


@pytest.fixture(autouse=True)
def _things_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.idempotency.urls"
    views.calls["count"] = 0


@pytest.fixture
def unreachable_store(tmp_path: Path) -> Iterator[None]:
    """The hot-key store is unreachable for the whole test."""
    with unreachable_hotkeys(tmp_path):
        yield
