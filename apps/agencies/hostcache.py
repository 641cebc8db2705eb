"""Per-process cache of host name -> agency, invalidated across processes.

Every request resolves its host to an agency; without a cache that is one query and one extra
``SET search_path`` per request. Entries live ``TENANT_CACHE_SECONDS`` at most, and any change
to an agency or a domain bumps a generation counter in the hot-key store that every process
reads on each lookup (an LMDB read, microseconds), so a deactivation takes effect on the next
request in every process. If the store is unreachable the cache is bypassed: every lookup goes
to the database, which is slower but never stale.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from django.conf import settings

from apps.hotkeys.base import StoreUnavailable, unpack_counter
from apps.hotkeys.keys import hot_key
from apps.hotkeys.registry import get_store

if TYPE_CHECKING:
    from apps.agencies.models import Agency

logger = structlog.get_logger(__name__)

GENERATION_KEY = hot_key("public", "tenancy", "generation")


@dataclass(frozen=True)
class _Entry:
    agency: Agency | None
    generation: int
    expires_at: float


_entries: dict[str, _Entry] = {}
_lock = threading.Lock()


def current_generation() -> int | None:
    """The shared tenancy generation, or None when the hot-key store cannot be read."""
    try:
        raw = get_store().get(GENERATION_KEY)
    except StoreUnavailable:
        logger.warning("tenancy_generation_unavailable")
        return None
    return unpack_counter(raw) if raw else 0


def bump_generation() -> None:
    """Invalidate every process's host cache (call after committing an agency or domain change)."""
    with _lock:
        _entries.clear()
    try:
        get_store().add(GENERATION_KEY, 1)
    except StoreUnavailable:
        # Other processes keep their entries until TENANT_CACHE_SECONDS runs out.
        logger.warning("tenancy_generation_bump_failed")


def cached_lookup(host: str, generation: int | None) -> tuple[bool, Agency | None]:
    """``(hit, agency)`` from this process's cache for ``host`` at ``generation``."""
    if generation is None:
        return False, None
    entry = _entries.get(host)
    if entry is None or entry.generation != generation or entry.expires_at < time.monotonic():
        return False, None
    return True, entry.agency


def remember(host: str, agency: Agency | None, generation: int | None) -> None:
    """Cache the lookup of ``host`` (unknown hosts too, so probing them costs no query)."""
    if generation is None:
        return
    ttl = float(getattr(settings, "TENANT_CACHE_SECONDS", 30))
    with _lock:
        if len(_entries) > 10_000:  # unknown hosts are attacker-chosen: bound the memory
            _entries.clear()
        _entries[host] = _Entry(agency, generation, time.monotonic() + ttl)


def clear() -> None:
    """Forget this process's entries (tests)."""
    with _lock:
        _entries.clear()
