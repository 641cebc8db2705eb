"""Device tokens: proof that a device signed in to an account before.

A successful sign-in returns a ``device_token`` (signed with Django's signing, salt
``guichet.accounts.device``): the person's id, a random device id, and a tag of the current
password hash, so a password change disowns every device. Sent back with later sign-ins, it
lets that device sign in while the account is under attack elsewhere
(``apps.accounts.lockout``): its failures are counted for that device only. Valid for
``LOCKOUT_DEVICE_TOKEN_MAX_AGE_SECONDS`` (default 180 days).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "guichet.accounts.device"


def _password_tag(password_hash: str) -> str:
    return salted_hmac(SALT, password_hash, algorithm="sha256").hexdigest()[:20]


def device_token_issue(*, user_id: str, password_hash: str, device_id: str | None = None) -> str:
    """A device token for this person (a new device id unless one is given)."""
    payload = {
        "u": user_id,
        "d": device_id or secrets.token_hex(16),
        "p": _password_tag(password_hash),
    }
    return signing.dumps(payload, salt=SALT)


def device_token_read(token: str, *, user_id: str, password_hash: str) -> str | None:
    """The device id of a valid token of this person under their current password, else
    None (forged, expired, another person's, or issued before a password change)."""
    try:
        payload = signing.loads(
            token, salt=SALT, max_age=settings.LOCKOUT_DEVICE_TOKEN_MAX_AGE_SECONDS
        )
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("u") != user_id:
        return None
    if not constant_time_compare(str(payload.get("p", "")), _password_tag(password_hash)):
        return None
    device = payload.get("d")
    return device if isinstance(device, str) and device else None
