"""Readiness checks of the parts a request depends on."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from django.conf import settings
from django.db import connection

logger = structlog.get_logger(__name__)


def check_database() -> None:
    """Raise if PostgreSQL does not answer."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_broker() -> None:
    """Raise if the Celery broker cannot be reached within a second."""
    from config.celery import app

    # The URL from settings, not app.conf: Celery lets the CELERY_BROKER_URL variable override
    # its configuration, and this check must test what settings say.
    with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=1)


def check_hotkeys() -> None:
    """Raise if the hot-key store does not answer."""
    from apps.hotkeys.registry import get_store

    get_store().ping()


READINESS_CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "hotkeys": check_hotkeys,
}


def readiness() -> dict[str, str]:
    """Run every check; map each part to ``ok`` or ``unavailable``."""
    results: dict[str, str] = {}
    for name, check in READINESS_CHECKS.items():
        if name in getattr(settings, "READINESS_SKIP", ()):
            continue
        try:
            check()
        except Exception as exc:
            logger.warning("readiness_check_failed", part=name, exc_type=type(exc).__name__)
            results[name] = "unavailable"
        else:
            results[name] = "ok"
    return results
