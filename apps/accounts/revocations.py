"""Deactivation ends access at once, by any path.

Access tokens are stateless; with ``AUTH_STATELESS_USERS`` most requests never read the
``accounts_user`` row, so a deactivated person would keep access until the token expires.
Two layers close that:

* **every application path** — ``User.save()``, ``User.objects.…update()`` (and so
  ``bulk_update``), the services and the console — calls ``revoke_on_commit``: once the
  transaction commits, the person's refresh tokens are blacklisted and every access token
  issued before the next second is refused through the hot-key store (``denylist``), in every
  process at once;
* **a change made directly in the database** (SQL, another program) is caught by a PostgreSQL
  trigger on ``accounts_user`` (deactivation or deletion) that writes a ``UserRevocation`` row.
  Each process reads the rows of the last access-token lifetime with one small indexed query
  at most every ``AUTH_REVOCATION_POLL_SECONDS`` (default 5) and refuses the person's tokens
  issued before the row's second; so such a change takes effect within that many seconds.
  ``0`` or less turns the poll off (the test settings do, so that query budgets stay exact;
  the tests of this module turn it on).

The authentication class asks ``user_revoked_since(user_id)``: a dictionary lookup, plus the
poll query once per interval per process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.hotkeys.base import StoreUnavailable

logger = structlog.get_logger(__name__)


def _revoke_now(user_ids: list[Any]) -> None:
    from apps.accounts.models import User
    from apps.accounts.services import user_tokens_revoke_all

    mark = time.time() + 1  # a token issued in this very second dies too
    for user in User.objects.filter(pk__in=user_ids):
        try:
            user_tokens_revoke_all(user=user, at=mark)
        except StoreUnavailable:
            # The trigger's row still ends access within AUTH_REVOCATION_POLL_SECONDS.
            logger.warning("user_revocation_store_unavailable", user_id=str(user.pk))
    logger.info("users_revoked", count=len(user_ids))


def revoke_on_commit(user_ids: Iterable[Any]) -> None:
    """End every session of these people once the current transaction commits (at once when
    there is none)."""
    ids = list(user_ids)
    if ids:
        transaction.on_commit(lambda: _revoke_now(ids))


class _RecentRevocations:
    """The process's copy of the recent ``UserRevocation`` rows, refreshed every interval."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._polled_at: float | None = None
        self._marks: dict[str, int] = {}

    def clear(self) -> None:
        """Forget everything (tests): the next lookup polls."""
        with self._lock:
            self._polled_at = None
            self._marks = {}

    def _poll(self) -> dict[str, int]:
        from apps.accounts.models import UserRevocation

        lifetime = max(
            settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"], settings.PARTNER_TOKEN_LIFETIME
        )
        since = timezone.now() - lifetime - timedelta(seconds=60)
        marks: dict[str, int] = {}
        rows = UserRevocation.objects.filter(revoked_at__gte=since).values_list(
            "user_id", "revoked_at"
        )
        for user_id, revoked_at in rows:
            # Refused: every token issued up to the end of the revocation's second.
            mark = int(revoked_at.timestamp()) + 1
            key = str(user_id)
            marks[key] = max(mark, marks.get(key, 0))
        return marks

    def mark(self, user_id: str) -> int | None:
        """The epoch second before which the person's tokens are refused, or None."""
        interval = float(settings.AUTH_REVOCATION_POLL_SECONDS)
        if interval <= 0:
            return None
        now = time.monotonic()
        polled_at = self._polled_at
        if polled_at is None or now - polled_at >= interval:
            with self._lock:
                if self._polled_at is None or now - self._polled_at >= interval:
                    self._marks = self._poll()
                    self._polled_at = time.monotonic()
        return self._marks.get(user_id)


recent_revocations = _RecentRevocations()


def user_revoked_since(user_id: str, issued_at: Any) -> bool:
    """Whether a token of ``user_id`` issued at ``issued_at`` (epoch seconds) predates a
    deactivation made by any path, the database included."""
    mark = recent_revocations.mark(user_id)
    if mark is None:
        return False
    return issued_at is None or int(issued_at) < mark
