"""Key layout of the hot-key store, shared by every backend.

A key is the FoundationDB tuple-layer encoding (``fdb.tuple.pack``, pure Python) of
``(schema, namespace, *parts)``. Every key therefore starts with the tenant schema, and the
byte layout is identical in LMDB and FoundationDB, so data can be copied between them.

Tuple elements are self-delimiting (strings end with ``0x00``, embedded ``0x00`` bytes are
escaped; integers carry their length in the type code), so the packed tuple ``("a", "x")`` is
a byte prefix of ``("a", "x", ...)`` but never of ``("a", "xy")``. ``hot_prefix`` relies on
this: it is the packed tuple itself, used with "starts with" semantics.
"""

from __future__ import annotations

import uuid
from typing import TypeAlias

import fdb.tuple

KeyPart: TypeAlias = str | bytes | int | uuid.UUID

# LMDB's compiled-in key limit (mdb_env_get_maxkeysize) is 511 bytes; FoundationDB allows 10 kB.
# Both backends enforce the smaller one so that every key can be copied between them.
MAX_KEY_BYTES = 511

# Every hot key starts with a packed ``str`` (type code 0x02), so the whole hot-key keyspace is
# [0x02, 0x03). Purges and copies stay inside it, which matters on a shared FoundationDB cluster.
KEYSPACE_BEGIN = b"\x02"
KEYSPACE_END = b"\x03"

_ALLOWED_PART_TYPES = (str, bytes, int, uuid.UUID)


def _check_parts(parts: tuple[object, ...]) -> None:
    for part in parts:
        # bool is an int subclass; it would pack as 0/1 and silently alias integer keys.
        if isinstance(part, bool) or not isinstance(part, _ALLOWED_PART_TYPES):
            raise TypeError("hot-key parts must be str, bytes, int or UUID")


def _check_label(value: object, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"hot-key {what} must be a non-empty string")


def hot_key(schema: str, namespace: str, *parts: KeyPart) -> bytes:
    """Encode the key for ``(schema, namespace, *parts)``.

    ``schema`` is the tenant's PostgreSQL schema name (``connection.schema_name``);
    ``namespace`` names the use (``"ratelimit"``, ``"otp"``, ``"denylist"``...). Never put a
    secret (a one-time code, a token) in a key part: store a hash or an identifier instead.
    """
    _check_label(schema, "schema")
    _check_label(namespace, "namespace")
    _check_parts(parts)
    key: bytes = fdb.tuple.pack((schema, namespace, *parts))
    if len(key) > MAX_KEY_BYTES:
        raise ValueError("hot key is longer than MAX_KEY_BYTES")
    return key


def hot_prefix(schema: str, namespace: str | None = None, *parts: KeyPart) -> bytes:
    """The byte prefix of every key under ``(schema[, namespace[, *parts]])``, for range reads.

    ``hot_prefix("agency_a")`` covers one tenant; ``hot_prefix("agency_a", "otp")`` one use
    within it. The prefix also matches the key with exactly these elements, and never a
    sibling (``("a", "x")`` does not match ``("a", "xy")``).
    """
    _check_label(schema, "schema")
    if namespace is None:
        if parts:
            raise ValueError("hot_prefix parts need a namespace")
        return bytes(fdb.tuple.pack((schema,)))
    _check_label(namespace, "namespace")
    _check_parts(parts)
    return bytes(fdb.tuple.pack((schema, namespace, *parts)))


def unpack_key(key: bytes) -> tuple[KeyPart, ...]:
    """Decode a hot key back into ``(schema, namespace, *parts)`` (for tooling and tests)."""
    return tuple(fdb.tuple.unpack(key))


def prefix_end(prefix: bytes) -> bytes:
    """The first key after every key starting with ``prefix`` (FoundationDB's ``strinc``).

    Trailing ``0xff`` bytes are dropped and the last remaining byte is incremented.
    """
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        raise ValueError("prefix must contain a byte other than 0xff")
    return stripped[:-1] + bytes([stripped[-1] + 1])
