"""Webhook secrets (encrypted at rest) and the signature scheme (docs/webhooks.md).

Every delivery carries ``Guichet-Signature: t=<unix seconds>,v1=<hex>`` where ``<hex>`` is
``HMAC-SHA256(secret, "<t>.<raw body>")``. Receivers recompute it over the exact bytes they
received, compare in constant time, and refuse a ``t`` more than five minutes away from their
clock (replay protection); ``Guichet-Event-Id`` is the same for every retry of one event, so
they can drop duplicates.

Every delivery also carries ``Guichet-Signature-Ed25519: t=<t>,kid=<kid>,sig=<base64url>``: an
Ed25519 signature of the same ``"<t>.<raw body>"`` by the platform's webhook key (key ring kind
``webhooks``, ``apps.accounts.keyring``), whose public keys and history are published at
``/.well-known/webhook-keys.json``. Receivers that prefer not to hold a shared secret check it
against the key named by ``kid``; ``manage.py keys_rotate --kind webhooks`` rotates it (the
previous key stays published for ``WEBHOOK_KEY_VERIFY_SECONDS``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SIGNATURE_HEADER = "Guichet-Signature"
KEY_SIGNATURE_HEADER = "Guichet-Signature-Ed25519"
KIND = "webhooks"
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


def key_signature_header(*, body: bytes, timestamp: int) -> str:
    """The ``Guichet-Signature-Ed25519`` value: the ring's webhook key signs ``"<t>.<body>"``."""
    from apps.accounts.keyring import keyring_signing_key

    key = keyring_signing_key(KIND)
    message = str(timestamp).encode("ascii") + b"." + body
    signature = base64.urlsafe_b64encode(key.private_key.sign(message)).rstrip(b"=").decode()
    return f"t={timestamp},kid={key.kid},sig={signature}"


def key_signature_verify(*, header: str, body: bytes, public_key: Any) -> bool:
    """Whether ``header`` holds an Ed25519 signature of ``body`` by ``public_key``."""
    fields = dict(part.strip().partition("=")[::2] for part in header.split(","))
    try:
        timestamp = int(fields.get("t", ""))
        signature = base64.urlsafe_b64decode(fields.get("sig", "") + "==")
        public_key.verify(signature, str(timestamp).encode("ascii") + b"." + body)
    except (ValueError, InvalidSignature):
        return False
    return True
