"""Production refuses known development secrets, weak keys and one key used for two purposes.

``config.settings.production`` calls ``secrets_check`` with every signing and encryption
setting; the first problem raises ``ImproperlyConfigured`` naming the variable (never its
value), so the web, worker and beat processes and ``manage.py check --deploy`` refuse to start.
The image's build steps load ``config.settings.build`` and need no secret.

Refused:

* the development and test values written in this repository (``config/settings/dev.py``,
  ``test.py``, ``base.py`` defaults, the Dockerfile's build placeholder) and any value that
  says it is one (``dev-only``, ``insecure``, ``change-me``, ``not-a-secret``…);
* a raw key (a PEM Ed25519 private key, or base64 of 32 bytes) whose bytes are not varied
  enough to be random (fewer than 20 distinct bytes out of 32);
* a text secret shorter than 32 characters, with an estimated entropy under 128 bits (Shannon
  entropy of its characters × its length), a run of more than 5 identical characters, or that
  compresses well (a repeated pattern);
* the same value in two variables.

Generate each with ``python -c "import secrets; print(secrets.token_urlsafe(50))"``, the
Ed25519 ones as ``docs/audit.md`` and ``docs/certificates.md`` say.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import zlib
from collections import Counter
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured


def _sha256_b64(seed: bytes) -> str:
    return base64.b64encode(hashlib.sha256(seed).digest()).decode()


# Values written in the repository for development, tests and the image build.
KNOWN_VALUES = frozenset(
    {
        "dev-only-insecure-secret-key-change-me",
        "dev-only-insecure-jwt-signing-key-change-me",
        "guichet-dev-only-webhook-key",
        "guichet-dev-only-certificate-key",
        "guichet-test-webhook-key",
        "guichet-test-certificate-key",
        "guichet-dev-only-keyring-key",
        "guichet-test-keyring-key",
        "build-only-not-a-secret",
        _sha256_b64(b"guichet-dev-only-audit-key"),
        _sha256_b64(b"guichet-test-audit-key"),
    }
)
MARKERS = ("dev-only", "insecure", "change-me", "changeme", "not-a-secret", "guichet-test")
MIN_TEXT_LENGTH = 32
MIN_TEXT_BITS = 128
MIN_DISTINCT_KEY_BYTES = 20
MAX_RUN = 5


def _raw_key(value: str) -> bytes | None:
    """The 32 private bytes of a PEM Ed25519 key or of base64 of 32 bytes, else None."""
    if "-----BEGIN" in value:
        from cryptography.hazmat.primitives import serialization

        try:
            key = serialization.load_pem_private_key(value.encode(), password=None)
            return key.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
        except (ValueError, TypeError, AttributeError):
            return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if len(decoded) == 32 else None


def _longest_run(value: str) -> int:
    longest = run = 0
    previous = ""
    for char in value:
        run = run + 1 if char == previous else 1
        previous = char
        longest = max(longest, run)
    return longest


def _entropy_bits(value: str) -> float:
    counts = Counter(value)
    total = len(value)
    per_char = -sum(n / total * math.log2(n / total) for n in counts.values())
    return per_char * total


def secret_weakness(value: str) -> str | None:
    """Why ``value`` must not be a production secret, or None. Never includes the value."""
    if not value or not value.strip():
        return "is empty"
    lowered = value.lower()
    if value in KNOWN_VALUES or any(marker in lowered for marker in MARKERS):
        return "is a development or test value written in the repository"
    raw = _raw_key(value)
    if raw is not None:
        if len(set(raw)) < MIN_DISTINCT_KEY_BYTES:
            return "is a key whose bytes are not random (too few distinct bytes)"
        return None
    if len(value) < MIN_TEXT_LENGTH:
        return f"is shorter than {MIN_TEXT_LENGTH} characters"
    if _longest_run(value) > MAX_RUN:
        return "repeats one character"
    if len(zlib.compress(value.encode(), 9)) < 0.6 * len(value.encode()):
        return "repeats a pattern"
    if _entropy_bits(value) < MIN_TEXT_BITS:
        return f"has less than {MIN_TEXT_BITS} bits of estimated entropy"
    return None


def secrets_check(values: Mapping[str, str]) -> None:
    """Raise ``ImproperlyConfigured`` naming the first weak, known or reused secret."""
    seen: dict[str, str] = {}
    for name, value in values.items():
        weakness = secret_weakness(value)
        if weakness:
            raise ImproperlyConfigured(
                f"{name} {weakness}: set a random value of its own (README, environment table)."
            )
        normalized = value.strip()
        if normalized in seen:
            raise ImproperlyConfigured(
                f"{name} has the same value as {seen[normalized]}: each purpose needs its own key."
            )
        seen[normalized] = name
