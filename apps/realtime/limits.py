"""Connection and subscription limits of the gateway, counted in the hot-key store.

Every open connection holds a lease under its person and under its source address
(``hot_key("public", "realtime", "conn", "user"|"source", <id>, <connection id>)``) with a TTL
of ``LEASE_SECONDS``, renewed by the hub while the connection lives: a gateway process that
dies leaves leases that expire by themselves instead of counters that stay too high. A new
connection counts the live leases in one store transaction (shared by every gateway process)
and is refused (close 4429) past ``REALTIME_MAX_CONNECTIONS_PER_USER`` /
``REALTIME_MAX_CONNECTIONS_PER_SOURCE``. Subscriptions are counted per person and minute
(``REALTIME_MAX_SUBSCRIPTIONS_PER_MINUTE``).

Connection limits protect the gateway and fail closed (1013) when the store is unavailable,
like the token checks next to them; the subscription rate fails open (logged).
"""

from __future__ import annotations

import time

import structlog
from django.conf import settings

from apps.hotkeys.base import HotKeyTransaction, StoreUnavailable
from apps.hotkeys.keys import hot_key, hot_prefix
from apps.hotkeys.registry import get_store

logger = structlog.get_logger(__name__)

NAMESPACE = "realtime"
LEASE_SECONDS = 90.0


def _lease_keys(user_id: str, source: str, connection_id: str) -> tuple[bytes, bytes]:
    return (
        hot_key("public", NAMESPACE, "conn", "user", user_id, connection_id),
        hot_key("public", NAMESPACE, "conn", "source", source, connection_id),
    )


def connection_acquire(*, user_id: str, source: str, connection_id: str) -> str | None:
    """Take a lease for a new connection; None, or ``"user"`` / ``"source"`` when over a limit.

    Raises ``StoreUnavailable``.
    """
    per_user = int(settings.REALTIME_MAX_CONNECTIONS_PER_USER)
    per_source = int(settings.REALTIME_MAX_CONNECTIONS_PER_SOURCE)
    user_key, source_key = _lease_keys(user_id, source, connection_id)
    user_prefix = hot_prefix("public", NAMESPACE, "conn", "user", user_id)
    source_prefix = hot_prefix("public", NAMESPACE, "conn", "source", source)

    def take(tx: HotKeyTransaction) -> str | None:
        if len(tx.range(user_prefix, limit=per_user)) >= per_user:
            return "user"
        if len(tx.range(source_prefix, limit=per_source)) >= per_source:
            return "source"
        tx.set(user_key, b"", ttl=LEASE_SECONDS)
        tx.set(source_key, b"", ttl=LEASE_SECONDS)
        return None

    return get_store().transaction(take)


def connection_renew(leases: list[tuple[str, str, str]]) -> None:
    """Renew the leases of live connections (``(user_id, source, connection_id)``)."""
    if not leases:
        return

    def renew(tx: HotKeyTransaction) -> None:
        for user_id, source, connection_id in leases:
            for key in _lease_keys(user_id, source, connection_id):
                tx.set(key, b"", ttl=LEASE_SECONDS)

    try:
        get_store().transaction(renew)
    except StoreUnavailable:
        logger.warning("realtime_lease_renew_failed", count=len(leases))


def connection_release(*, user_id: str, source: str, connection_id: str) -> None:
    """Give a closed connection's leases back."""
    try:
        store = get_store()
        for key in _lease_keys(user_id, source, connection_id):
            store.delete(key)
    except StoreUnavailable:
        logger.warning("realtime_lease_release_failed")  # they expire on their own


def subscription_allowed(*, user_id: str) -> bool:
    """Count one subscription of ``user_id`` this minute; False past the limit (fails open)."""
    limit = int(settings.REALTIME_MAX_SUBSCRIPTIONS_PER_MINUTE)
    minute = int(time.time() // 60)
    key = hot_key("public", NAMESPACE, "subscribe", user_id, minute)
    try:
        count = get_store().add(key, 1, ttl=120)
    except StoreUnavailable:
        logger.warning("realtime_subscribe_rate_unchecked")
        return True
    return count <= limit
