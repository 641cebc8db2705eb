"""Fixtures of the notification tests."""

from __future__ import annotations

from tests.outbox.conftest import published, sms_dir  # noqa: F401  (shared fixtures)
