"""Helpers of the security tests: a genuinely unreachable hot-key store, throttle rates."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.test import override_settings


@contextmanager
def unreachable_hotkeys(tmp_path: Path) -> Iterator[None]:
    """Point the hot-key store at an LMDB directory that cannot be created (a file is there).

    Nothing is mocked: opening the store really fails, so every operation raises
    ``StoreUnavailable`` as it would with a broken disk or an unreachable cluster.
    """
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


def with_rates(settings: Any, **rates: str | None) -> None:
    """Set some throttle rates (DRF reloads its settings on the change)."""
    current = dict(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])
    current.update(rates)
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": current}
