"""Celery entry points of the accounts app."""

from __future__ import annotations

import structlog
from celery import shared_task

from apps.accounts.keyring import keyring_retire_expired
from apps.accounts.models import KeyKind

logger = structlog.get_logger(__name__)


@shared_task(name="accounts.keys_retire_expired", acks_late=True)
def keys_retire_expired() -> list[str]:
    """Mark ``retired`` every demoted signing key whose tokens have all expired.

    Bookkeeping only (a demoted key verifies nothing past ``verify_until`` anyway); keeps the
    key history and the published JWKS accurate without an operator. Idempotent.
    """
    retired: list[str] = []
    for kind in KeyKind.values:
        retired += keyring_retire_expired(kind=kind)
    return retired
