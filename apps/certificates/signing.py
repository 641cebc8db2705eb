"""Signing keys of certificates and the signed payload printed on them as a QR code.

Keys: each agency signs with its own key of the key ring (kind ``certificates``, scope = the
agency's schema; ECDSA P-256, ``apps.accounts.keyring``), which has a ``kid``, a history and an
X.509 certificate from the platform CA (``apps.certificates.pki``). The same key signs the
PDF (PAdES, ``apps.certificates.pdfsign``) and the QR payload. A rotation
(``manage.py keys_rotate --kind certificates``) makes a new key active; the previous one keeps
verifying the documents it signed (``CERTIFICATE_KEY_VERIFY_DAYS``). Every key of an agency,
with its status, is published at ``/.well-known/certificate-keys.json`` on the agency's host.

Certificates issued before the key ring were signed with an Ed25519 key derived from
``CERTIFICATE_SIGNING_KEY`` (payload ``v`` 1, ``k`` = the first 16 hex digits of SHA-256 of
the raw public key); while that setting is kept they still verify (``legacy`` in the list).

Token: ``base64url(payload) "." base64url(signature)`` (no padding), where ``payload`` is
compact JSON (sorted keys, no spaces, UTF-8) and the signature covers exactly those bytes
(``v`` 2: ECDSA P-256 with SHA-256, the 64 bytes ``r || s``; ``v`` 1: Ed25519):

    {"a": agency slug, "c": verification code, "d": issue date (YYYY-MM-DD),
     "h": holder name, "k": key id, "r": reference, "s": SHA-256 of the content (hex), "v": 2}

Verifiers read ``k`` to pick the key, check the signature over the bytes they decoded, then
read the JSON: no re-serialisation, so no canonicalisation ambiguity.
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
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PAYLOAD_VERSION = 2
LEGACY_PAYLOAD_VERSION = 1
KIND = "certificates"
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


def legacy_configured() -> bool:
    """Whether the pre-key-ring secret is still set (its certificates still verify)."""
    return bool(str(getattr(settings, "CERTIFICATE_SIGNING_KEY", "") or ""))


@lru_cache(maxsize=256)
def _private_key(secret: bytes, schema: str) -> Ed25519PrivateKey:
    seed = hmac.new(secret, KEY_CONTEXT + schema.encode(), hashlib.sha256).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def legacy_private_key(schema: str) -> Ed25519PrivateKey:
    """The pre-key-ring Ed25519 key of the agency whose schema is ``schema``."""
    return _private_key(_secret(), schema)


def legacy_public_key(schema: str) -> Ed25519PublicKey:
    """The public half of ``legacy_private_key(schema)``."""
    return legacy_private_key(schema).public_key()


def signing_key(schema: str) -> Any:
    """The agency's active certificate key (``LoadedKey``: kid, keys, X.509 certificate)."""
    from apps.accounts.keyring import keyring_signing_key

    return keyring_signing_key(KIND, scope=schema)


def public_key_raw(public_key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of an Ed25519 public key."""
    return public_key.public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )


def public_key_pem(public_key: Any) -> str:
    """SubjectPublicKeyInfo PEM of a public key."""
    return public_key.public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    ).decode("ascii")


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short name of a public key: the first 16 hex digits of SHA-256 of its raw bytes."""
    return hashlib.sha256(public_key_raw(public_key)).hexdigest()[:16]


def _es256_sign(private_key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    r, s = decode_dss_signature(private_key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _verify_signature(public_key: Any, signature: bytes, data: bytes) -> None:
    """Raise ``InvalidSignature`` unless ``signature`` of ``data`` holds under the key."""
    if isinstance(public_key, Ed25519PublicKey):
        public_key.verify(signature, data)
        return
    if len(signature) != 64:
        raise InvalidSignature()
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    public_key.verify(der, data, ec.ECDSA(hashes.SHA256()))


def sign_payload(*, key: Any, payload: dict[str, Any]) -> str:
    """The token ``payload.signature`` for ``payload``, signed with ``key`` (a ring key)."""
    data = canonical_json(payload)
    return f"{b64url_encode(data)}.{b64url_encode(_es256_sign(key.private_key, data))}"


def token_key_id(token: str) -> str:
    """The ``k`` a token claims (unverified: only to pick the key), or ""."""
    try:
        payload = json.loads(b64url_decode(token.split(".")[0]))
    except ValueError:
        return ""
    return str(payload.get("k", "")) if isinstance(payload, dict) else ""


def verification_key(schema: str, kid: str) -> Any | None:
    """The public key that verifies the agency's documents signed by ``kid``, or None.

    A key of the ring that still verifies (active, or demoted within
    ``CERTIFICATE_KEY_VERIFY_DAYS``; never a revoked one), or the legacy derived key.
    """
    from apps.accounts.keyring import keyring_verifying_key

    if not kid or len(kid) > 64:
        return None
    key = keyring_verifying_key(kid, KIND, scope=schema)
    if key is not None:
        return key.public_key
    if legacy_configured():
        legacy = legacy_public_key(schema)
        if hmac.compare_digest(key_id(legacy), kid):
            return legacy
    return None


def token_from_qr(text: str) -> str:
    """The token in a QR text (``<verification URL>#<token>`` or the bare token)."""
    return text.strip().rsplit("#", 1)[-1]


def verify_token(token: str, public_key: Any) -> dict[str, Any] | None:
    """The payload of ``token`` if ``public_key`` signed it, else None (never raises)."""
    if len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        return None
    encoded_payload, encoded_signature = token.split(".")
    try:
        data = b64url_decode(encoded_payload)
        signature = b64url_decode(encoded_signature)
        _verify_signature(public_key, signature, data)
        payload = json.loads(data)
    except (ValueError, InvalidSignature):
        return None
    if not isinstance(payload, dict):
        return None
    expected = LEGACY_PAYLOAD_VERSION if isinstance(public_key, Ed25519PublicKey) else 2
    if payload.get("v") != expected:
        return None
    return payload


def verify_agency_token(token: str, schema: str) -> dict[str, Any] | None:
    """The payload of ``token`` if a key of the agency that may verify signed it, else None."""
    if len(token) > MAX_TOKEN_CHARS:
        return None
    public_key = verification_key(schema, token_key_id(token))
    if public_key is None:
        return None
    return verify_token(token, public_key)
