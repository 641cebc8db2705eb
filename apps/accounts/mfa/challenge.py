"""The "password done, code pending" step of an API sign-in (two-step flow).

After a right password, the token endpoint answers 403 ``mfa_required`` with an opaque
``mfa_token``; ``POST /api/v1/auth/token/mfa/`` exchanges it with a code for tokens. The token
is 32 random bytes; the hot-key store keeps only its SHA-256, for ``MFA_CHALLENGE_SECONDS``,
with what the sign-in established (person, portal, agency schema). It is bound to the host's
schema (a challenge from agency A is unknown on agency B) and spent by the exchange.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass

import structlog
from django.conf import settings
from django_tenants.utils import get_public_schema_name

from apps.core.errors import ServiceUnavailableError
from apps.hotkeys.base import StoreUnavailable
from apps.hotkeys.keys import hot_key
from apps.hotkeys.registry import get_store

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PendingSignIn:
    """What a sign-in established before its second factor."""

    user_id: str
    kind: str
    schema: str  # the schema of the host that issued it (the token's agency claim)
    device_id: str | None = None  # the lockout's known device, for the device token


def _key(token: str) -> bytes:
    digest = hashlib.sha256(token.encode()).hexdigest()
    return hot_key(get_public_schema_name(), "mfa", "challenge", digest)


def challenge_issue(pending: PendingSignIn) -> tuple[str, int]:
    """A new ``mfa_token`` for ``pending`` and its lifetime in seconds (503 if the store is
    down)."""
    token = secrets.token_urlsafe(32)
    ttl = int(settings.MFA_CHALLENGE_SECONDS)
    try:
        get_store().set(_key(token), json.dumps(asdict(pending)).encode(), ttl=ttl)
    except StoreUnavailable as exc:
        logger.warning("mfa_store_unavailable")
        raise ServiceUnavailableError() from exc
    return token, ttl


def challenge_read(token: str, *, schema: str) -> PendingSignIn | None:
    """The pending sign-in of ``token`` issued on ``schema``'s host, or None."""
    if not token or len(token) > 128:
        return None
    try:
        raw = get_store().get(_key(token))
    except StoreUnavailable as exc:
        logger.warning("mfa_store_unavailable")
        raise ServiceUnavailableError() from exc
    if raw is None:
        return None
    pending = PendingSignIn(**json.loads(raw))
    return pending if pending.schema == schema else None


def challenge_spend(token: str) -> None:
    """Forget ``token`` (its sign-in is complete)."""
    try:
        get_store().delete(_key(token))
    except StoreUnavailable:
        logger.warning("mfa_store_unavailable", phase="spend")
