"""Ed25519 keys of the checkpoints: one key pair per schema, derived from one secret.

``AUDIT_SIGNING_KEY`` (environment) holds a 32-byte Ed25519 private key, base64-encoded or as
a PKCS#8 PEM. Each schema signs with its own key pair derived from it with HKDF-SHA256
(``info`` = the schema name), so an agency publishes a public key of its own and a checkpoint
of one agency can never pass for another's. ``key_id`` is the first 16 hex digits of the
SHA-256 of the raw public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

HKDF_SALT = b"guichet-audit-checkpoint-v1"
ALGORITHM = "Ed25519"


@dataclass(frozen=True)
class SchemaKey:
    """The key pair one schema signs its checkpoints with."""

    schema: str
    private_key: Ed25519PrivateKey
    public_key: Ed25519PublicKey
    key_id: str

    @property
    def public_raw(self) -> bytes:
        """The 32 raw bytes of the public key."""
        return self.public_key.public_bytes(
            encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
        )

    @property
    def public_base64(self) -> str:
        """The raw public key, base64 (standard alphabet, padded)."""
        return base64.b64encode(self.public_raw).decode("ascii")

    @property
    def public_pem(self) -> str:
        """The public key as a SubjectPublicKeyInfo PEM."""
        return self.public_key.public_bytes(
            encoding=serialization.Encoding.PEM,
            format=serialization.PublicFormat.SubjectPublicKeyInfo,
        ).decode("ascii")

    def sign(self, message: bytes) -> str:
        """The base64 Ed25519 signature of ``message``."""
        return base64.b64encode(self.private_key.sign(message)).decode("ascii")

    def verify(self, message: bytes, signature: str) -> bool:
        """Whether ``signature`` (base64) is this key's signature of ``message``."""
        try:
            self.public_key.verify(base64.b64decode(signature, validate=True), message)
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True


def key_id_for(public_raw: bytes) -> str:
    """The key id of a raw public key."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def parse_master_key(value: str) -> bytes:
    """The 32 raw private bytes held by an ``AUDIT_SIGNING_KEY`` value.

    Raises ``ImproperlyConfigured`` (without echoing the value) when it is empty or invalid.
    """
    text = (value or "").strip().replace("\\n", "\n")
    if not text:
        raise ImproperlyConfigured("AUDIT_SIGNING_KEY is not set.")
    if text.startswith("-----BEGIN"):
        try:
            loaded = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured("AUDIT_SIGNING_KEY is not a readable PEM key.") from exc
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ImproperlyConfigured("AUDIT_SIGNING_KEY must be an Ed25519 private key.")
        return loaded.private_bytes(
            encoding=serialization.Encoding.Raw,
            format=serialization.PrivateFormat.Raw,
            encryption_algorithm=serialization.NoEncryption(),
        )
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured("AUDIT_SIGNING_KEY is neither base64 nor PEM.") from exc
    if len(raw) != 32:
        raise ImproperlyConfigured("AUDIT_SIGNING_KEY must decode to 32 bytes.")
    return raw


@lru_cache(maxsize=256)
def _derive(master: bytes, schema: str) -> SchemaKey:
    seed = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT, info=schema.encode("utf-8")
    ).derive(master)
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    public_key = private_key.public_key()
    raw = public_key.public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )
    return SchemaKey(schema, private_key, public_key, key_id_for(raw))


def schema_key(schema: str) -> SchemaKey:
    """The key pair of ``schema`` (derived from ``settings.AUDIT_SIGNING_KEY``)."""
    return _derive(parse_master_key(settings.AUDIT_SIGNING_KEY), schema)


def public_key_from_base64(value: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its raw bytes in base64."""
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(value, validate=True))
