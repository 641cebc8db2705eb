"""Per-agency Ed25519 keys and the signed payload printed on certificates.

Keys: each agency signs with its own Ed25519 key, derived from one platform secret
(``CERTIFICATE_SIGNING_KEY``) and the agency's schema name:
``seed = HMAC-SHA256(secret, "guichet/certificates/v1/" + schema)``. Nothing is stored: the
same secret always gives the same keys, rotating the secret rotates every key (``key_id`` in
each payload tells which key signed it). Public keys are published by
``GET /api/v1/certificates/public-key/`` on the agency's host.

Token: ``base64url(payload) "." base64url(signature)`` (no padding), where ``payload`` is
compact JSON (sorted keys, no spaces, UTF-8) and the signature covers exactly those bytes:

    {"a": agency slug, "c": verification code, "d": issue date (YYYY-MM-DD),
     "h": holder name, "k": key id, "r": reference, "s": SHA-256 of the content (hex), "v": 1}

Verifiers check the signature over the bytes they decoded, then read the JSON: no
re-serialisation, so no canonicalisation ambiguity.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PAYLOAD_VERSION = 1
KEY_CONTEXT = b"guichet/certificates/v1/"
# A QR token longer than this is not ours (keeps decoding bounded).
MAX_TOKEN_CHARS = 4096


def b64url_encode(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of ``b64url_encode``; raises ``ValueError`` on bad input."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def canonical_json(data: dict[str, Any]) -> bytes:
    """Compact JSON: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _secret() -> bytes:
    secret = str(getattr(settings, "CERTIFICATE_SIGNING_KEY", "") or "")
    if not secret:
        raise ImproperlyConfigured("CERTIFICATE_SIGNING_KEY is not set")
    return secret.encode()


@lru_cache(maxsize=256)
def _private_key(secret: bytes, schema: str) -> Ed25519PrivateKey:
    seed = hmac.new(secret, KEY_CONTEXT + schema.encode(), hashlib.sha256).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def agency_private_key(schema: str) -> Ed25519PrivateKey:
    """The signing key of the agency whose schema is ``schema``."""
    return _private_key(_secret(), schema)


def agency_public_key(schema: str) -> Ed25519PublicKey:
    """The public half of ``agency_private_key(schema)``."""
    return agency_private_key(schema).public_key()


def public_key_raw(public_key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of an Ed25519 public key."""
    return public_key.public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    """SubjectPublicKeyInfo PEM of a public key."""
    return public_key.public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    ).decode("ascii")


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short name of a public key: the first 16 hex digits of SHA-256 of its raw bytes."""
    return hashlib.sha256(public_key_raw(public_key)).hexdigest()[:16]


def sign_payload(*, schema: str, payload: dict[str, Any]) -> str:
    """The token ``payload.signature`` for ``payload``, signed with the agency's key."""
    data = canonical_json(payload)
    signature = agency_private_key(schema).sign(data)
    return f"{b64url_encode(data)}.{b64url_encode(signature)}"


def token_from_qr(text: str) -> str:
    """The token in a QR text (``<verification URL>#<token>`` or the bare token)."""
    return text.strip().rsplit("#", 1)[-1]


def verify_token(token: str, public_key: Ed25519PublicKey) -> dict[str, Any] | None:
    """The payload of ``token`` if ``public_key`` signed it, else None (never raises)."""
    if len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        return None
    encoded_payload, encoded_signature = token.split(".")
    try:
        data = b64url_decode(encoded_payload)
        signature = b64url_decode(encoded_signature)
        public_key.verify(signature, data)
        payload = json.loads(data)
    except (ValueError, InvalidSignature):
        return None
    if not isinstance(payload, dict) or payload.get("v") != PAYLOAD_VERSION:
        return None
    return payload
