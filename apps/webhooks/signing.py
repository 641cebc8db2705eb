"""Webhook secrets (encrypted at rest) and the signature scheme (docs/webhooks.md).

Every delivery carries ``Guichet-Signature: t=<unix seconds>,v1=<hex>`` where ``<hex>`` is
``HMAC-SHA256(secret, "<t>.<raw body>")``. Receivers recompute it over the exact bytes they
received, compare in constant time, and refuse a ``t`` more than five minutes away from their
clock (replay protection); ``Guichet-Event-Id`` is the same for every retry of one event, so
they can drop duplicates.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SIGNATURE_HEADER = "Guichet-Signature"
EVENT_ID_HEADER = "Guichet-Event-Id"
EVENT_HEADER = "Guichet-Event"
TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def secret_new() -> str:
    """A fresh signing secret for a subscription (shown to the partner once)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _fernet() -> Fernet:
    master = str(getattr(settings, "WEBHOOK_SECRET_KEY", "") or "")
    if not master:
        raise ImproperlyConfigured("WEBHOOK_SECRET_KEY is not set")
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"guichet/webhooks/secrets/v1"
    ).derive(master.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def secret_encrypt(secret: str) -> str:
    """The secret encrypted for storage."""
    return _fernet().encrypt(secret.encode()).decode("ascii")


def secret_decrypt(token: str) -> str:
    """The stored secret in clear (to sign a delivery); ValueError if the key changed."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except InvalidToken as exc:
        raise ValueError("the webhook secret cannot be decrypted with WEBHOOK_SECRET_KEY") from exc


def signature_compute(*, secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>.<body>"``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``Guichet-Signature`` value for ``body`` now (or at ``timestamp``)."""
    moment = int(time.time()) if timestamp is None else timestamp
    return f"t={moment},v1={signature_compute(secret=secret, timestamp=moment, body=body)}"


def signature_verify(
    *,
    header: str,
    body: bytes,
    secret: str,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds of now."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        fields.setdefault(name, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature_compute(secret=secret, timestamp=timestamp, body=body)
    return any(hmac.compare_digest(expected, candidate) for candidate in fields.get("v1", []))
