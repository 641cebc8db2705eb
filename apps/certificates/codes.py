"""Verification codes: random, short enough to type, looked up by hash in constant time."""

from __future__ import annotations

import base64
import hashlib
import secrets

CODE_BYTES = 16  # 128 bits: not guessable, 26 characters in base32
MAX_CODE_CHARS = 64


def code_new() -> str:
    """A fresh verification code (26 characters of base32, upper case)."""
    return base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii").rstrip("=")


def code_normalise(code: str) -> str:
    """What people type: spaces and dashes dropped, upper case, bounded length."""
    return code[:MAX_CODE_CHARS].replace("-", "").replace(" ", "").strip().upper()


def code_digest(code: str) -> str:
    """The SHA-256 (hex) a code is stored and looked up under."""
    return hashlib.sha256(code_normalise(code).encode("utf-8")).hexdigest()
