"""Django application config for the hot-key store."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core.signals import setting_changed

from apps.hotkeys.registry import reset_stores


def _reset_on_hotkeys_change(*, setting: str, **kwargs: Any) -> None:
    """Drop cached stores when ``HOTKEYS`` changes (``override_settings`` in tests)."""
    if setting == "HOTKEYS":
        reset_stores()


class HotKeysConfig(AppConfig):
    """The hot-key store app: no models, only stores, a task and management commands."""

    name = "apps.hotkeys"
    label = "hotkeys"
    verbose_name = "Hot-key store"

    def ready(self) -> None:
        """Connect the settings-change hook (cache invalidation only, never business rules)."""
        setting_changed.connect(
            _reset_on_hotkeys_change, dispatch_uid="hotkeys_reset_on_setting_changed"
        )
