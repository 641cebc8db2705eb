"""Wrong second-factor codes, counted per person in the hot-key store.

Race-free by reservation, as ``apps.accounts.lockout``: each check is first counted as a
failure in the same store transaction that refuses a person already at ``MFA_MAX_FAILURES``
within ``MFA_WINDOW_SECONDS``; a right code then clears the counter. Console and API share the
counter, so switching between them buys nothing. The lock is audited once (``mfa.locked``).

Keys: ``("public", "mfa", "failures", user_id, "count" | "since")``; nothing personal.
Fails closed: the store unreachable answers 503, never a code checked without a limit.
"""

from __future__ import annotations

import math

import structlog
from django.conf import settings
from django_tenants.utils import get_public_schema_name

from apps.accounts.mfa.errors import MfaLocked
from apps.audit.models import Outcome
from apps.audit.services import audit_record
from apps.core.errors import ServiceUnavailableError
from apps.hotkeys.base import HotKeyTransaction, StoreUnavailable, pack_counter, unpack_counter
from apps.hotkeys.keys import hot_key
from apps.hotkeys.registry import get_store

logger = structlog.get_logger(__name__)


def _key(user_id: str, part: str) -> bytes:
    return hot_key(get_public_schema_name(), "mfa", "failures", user_id, part)


def mfa_attempt_begin(*, user_id: str) -> int:
    """Refuse a person over the limit (429 ``mfa_locked``), else count this check as a
    failure until ``mfa_attempt_succeeded``. Returns the count including this check."""
    limit = int(settings.MFA_MAX_FAILURES)
    window = int(settings.MFA_WINDOW_SECONDS)
    count_key, since_key = _key(user_id, "count"), _key(user_id, "since")

    def reserve(tx: HotKeyTransaction) -> tuple[bool, int]:
        raw = tx.get(count_key)
        if raw is not None and unpack_counter(raw) >= limit:
            since = tx.get(since_key)
            started = unpack_counter(since) if since is not None else tx.now_ms
            return False, max(1, math.ceil((started + window * 1000 - tx.now_ms) / 1000))
        count = tx.add(count_key, 1, ttl=window)
        if count == 1:
            tx.set(since_key, pack_counter(tx.now_ms), ttl=window)
        return True, count

    try:
        allowed, value = get_store().transaction(reserve)
    except StoreUnavailable as exc:
        logger.warning("mfa_store_unavailable")
        raise ServiceUnavailableError() from exc
    if not allowed:
        logger.info("mfa_refused_locked", user_id=user_id)
        raise MfaLocked(retry_after=int(value))
    return int(value)


def mfa_attempt_failed(*, user_id: str, count: int) -> int:
    """A wrong code: audit the lock when this failure sets it. Returns the attempts left."""
    limit = int(settings.MFA_MAX_FAILURES)
    if count == limit:
        logger.warning("mfa_locked", user_id=user_id)
        audit_record(
            action="mfa.locked",
            target_type="user",
            target_id=user_id,
            outcome=Outcome.DENIED,
            platform=True,
        )
    return max(0, limit - count)


def mfa_attempt_succeeded(*, user_id: str) -> None:
    """A right code: the person's failures are forgotten. Never raises (stricter if down)."""

    def clear(tx: HotKeyTransaction) -> None:
        tx.delete(_key(user_id, "count"))
        tx.delete(_key(user_id, "since"))

    try:
        get_store().transaction(clear)
    except StoreUnavailable:
        logger.warning("mfa_store_unavailable", phase="release")
