"""Celery entry points of the hot-key store.

The store is shared by every tenant (keys start with the tenant schema), so maintenance runs
once over the whole keyspace rather than fanning out per tenant.
"""

from __future__ import annotations

import structlog
from celery import shared_task

from apps.hotkeys.registry import DEFAULT_ALIAS, get_store

logger = structlog.get_logger(__name__)


@shared_task(name="apps.hotkeys.tasks.hotkeys_purge_expired", acks_late=True)
def hotkeys_purge_expired(alias: str = DEFAULT_ALIAS, batch: int = 1000) -> int:
    """Delete expired hot-key values from the store ``alias``; return how many.

    Idempotent: running it twice, or concurrently, only finds less to delete. Meant for a
    periodic schedule (every few minutes is plenty: expired values are already invisible).
    """
    deleted = get_store(alias).purge_expired(batch=batch)
    logger.info("hotkeys_purged", alias=alias, deleted=deleted)
    return deleted
