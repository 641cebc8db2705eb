"""Fixtures of the security tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.helpers import unreachable_hotkeys


@pytest.fixture
def unreachable_store(tmp_path: Path) -> Iterator[None]:
    """The hot-key store is unreachable for the whole test."""
    with unreachable_hotkeys(tmp_path):
        yield
