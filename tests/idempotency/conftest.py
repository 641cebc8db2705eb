"""Fixtures of the idempotency tests: the test-only endpoint on agency hosts, a fresh store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from tests.idempotency import views


@pytest.fixture(autouse=True)
def _things_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.idempotency.urls"
    views.calls["count"] = 0


@pytest.fixture
def unreachable_store(tmp_path: Path) -> Iterator[None]:
    """The hot-key store made genuinely unreachable: its LMDB directory cannot be created."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the store's directory should be")
    config = {
        "default": {
            "BACKEND": "apps.hotkeys.backends.lmdb.LMDBStore",
            "OPTIONS": {"path": str(blocker / "hotkeys")},
        }
    }
    with override_settings(HOTKEYS=config):
        yield
