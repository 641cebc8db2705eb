"""The platform's audit keys (key ring kind ``audit``): who signed which tree head.

Tree heads are signed with the active ``audit`` key of the key ring (``apps.accounts.keyring``)
and name it (``key_id``). ``manage.py keys_rotate --kind audit`` makes a new key active; the
old one signs nothing more but stays published here (its status says so), so every head it
signed still verifies, online and offline. A revoked key (compromise) stays listed with its
``retired_at``: heads it signed after that moment must not be trusted (docs/keys.md).
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from apps.accounts.models import KeyKind, SigningKey


def audit_key_history() -> list[dict[str, Any]]:
    """Every audit key, oldest first, with its public half (raw base64 and PEM)."""
    keys: list[dict[str, Any]] = []
    for row in SigningKey.objects.filter(kind=KeyKind.AUDIT).order_by("created_at"):
        public = serialization.load_pem_public_key(row.public_key.encode())
        assert isinstance(public, Ed25519PublicKey)
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        keys.append(
            {
                "kid": row.kid,
                "algorithm": row.algorithm,
                "public_key": base64.b64encode(raw).decode("ascii"),
                "public_key_pem": row.public_key,
                "status": row.status,
                "created_at": row.created_at,
                "retired_at": row.retired_at,
            }
        )
    return keys


def audit_public_key(kid: str) -> Ed25519PublicKey | None:
    """The public key named ``kid`` of the audit kind, whatever its status; None if unknown."""
    row = SigningKey.objects.filter(kind=KeyKind.AUDIT, kid=kid).first()
    if row is None:
        return None
    public = serialization.load_pem_public_key(row.public_key.encode())
    return public if isinstance(public, Ed25519PublicKey) else None
