"""Readiness checks of the parts a request depends on.

Each check returns if its part can serve and raises otherwise; ``readiness`` maps every part to
``ok`` or to why it cannot serve: ``unavailable`` (unreachable or broken), ``full`` (the
hot-key map, its disk or the file storage has no room) or ``read_only``. The hot-key store and
the file storage are probed with a real write, because a full or read-only store still reads.
The last result of each part is exported as ``guichet_dependency_ready{part}``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

import structlog
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connection

from apps.core import metrics, outages

logger = structlog.get_logger(__name__)

READINESS_PROBE_TTL = 60.0


class PartNotReady(Exception):
    """A check's verdict other than ``unavailable`` (``full``, ``read_only``)."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


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
    """Raise if the hot-key store does not answer or cannot take a write (full, read-only)."""
    from apps.hotkeys.base import StoreUnavailable
    from apps.hotkeys.keys import hot_key
    from apps.hotkeys.registry import get_store

    try:
        store = get_store()
        store.ping()
        # A new key each time, as sign-in writes new keys: overwriting one existing key can
        # still fit in a full LMDB map (its pages are reused) while no new key does.
        probe = hot_key("public", "readiness", "probe", uuid.uuid4().hex)
        store.set(probe, b"1", ttl=READINESS_PROBE_TTL)
        store.delete(probe)
    except StoreUnavailable as exc:
        if exc.reason in ("map_full", "disk_full"):
            raise PartNotReady("full") from exc
        if exc.reason == "read_only":
            raise PartNotReady("read_only") from exc
        raise


def check_storage() -> None:
    """Raise if the default file storage cannot store (then delete) a small file."""
    from apps.core.tenancy import current_schema

    storage = storages["default"]
    # Under the current schema's prefix: the storage refuses names outside it.
    name = f"{current_schema()}/readiness/probe-{os.getpid()}-{uuid.uuid4().hex}.txt"
    try:
        saved = storage.save(name, ContentFile(b"ok"))
        storage.delete(saved)
    except Exception as exc:
        problem = outages.storage_error_for(exc)
        if isinstance(problem, outages.StorageFullError):
            raise PartNotReady("full") from exc
        raise


def check_channel_layer() -> None:
    """Raise if the real-time gateway's channel layer cannot carry a message (Redis in
    production, PostgreSQL NOTIFY by default: ``apps.realtime.layers``)."""
    from apps.realtime.layers import channel_layer_check

    channel_layer_check(timeout=1.0)


READINESS_CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "hotkeys": check_hotkeys,
    "storage": check_storage,
    "channel_layer": check_channel_layer,
}


def readiness() -> dict[str, str]:
    """Run every check; map each part to ``ok`` or the reason it cannot serve."""
    results: dict[str, str] = {}
    for name, check in READINESS_CHECKS.items():
        if name in getattr(settings, "READINESS_SKIP", ()):
            continue
        try:
            check()
        except PartNotReady as exc:
            logger.warning("readiness_check_failed", part=name, state=exc.state)
            results[name] = exc.state
        except Exception as exc:
            logger.warning("readiness_check_failed", part=name, exc_type=type(exc).__name__)
            results[name] = "unavailable"
        else:
            results[name] = "ok"
        metrics.DEPENDENCY_READY.labels(part=name).set(1 if results[name] == "ok" else 0)
    return results
