"""The canonical serialisation of audit events and checkpoints (chain format version 1).

This module is the specification in code; ``docs/audit.md`` states it in prose for people
verifying an export without our code. It has no Django import on purpose: the verifier and
the tests use it on plain dictionaries.

Version 1 of an event is a JSON object with exactly the keys of ``EVENT_FIELDS_V1``:

* ``v`` (int, 1), ``schema`` (str), ``sequence`` (int, 1, 2, 3, ... per schema),
  ``prev_hash`` (64 lowercase hex digits; 64 zeros for the first event), ``id`` (UUID, lowercase,
  hyphenated), ``occurred_at`` (UTC, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, always six digits),
  ``actor_type``, ``actor_id``, ``actor_role``, ``action``, ``target_type``, ``target_id``,
  ``outcome``, ``user_agent``, ``request_id`` (str), ``ip`` (str in the normal form of
  Python's ``ipaddress``, or null), ``changes`` (object; strings, integers, booleans, null,
  arrays and objects only: floats are written as strings).

Its bytes are ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
allow_nan=False).encode("utf-8")`` and its ``hash`` is the SHA-256 of those bytes in lowercase
hex. The stored or exported event is that object plus the ``hash`` key.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

CHAIN_VERSION = 1
GENESIS_HASH = "0" * 64
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

EVENT_FIELDS_V1: tuple[str, ...] = (
    "v",
    "schema",
    "sequence",
    "prev_hash",
    "id",
    "occurred_at",
    "actor_type",
    "actor_id",
    "actor_role",
    "action",
    "target_type",
    "target_id",
    "changes",
    "outcome",
    "ip",
    "user_agent",
    "request_id",
)

CHECKPOINT_TYPE = "guichet.audit.checkpoint"
CHECKPOINT_FIELDS_V1: tuple[str, ...] = (
    "v",
    "type",
    "schema",
    "sequence",
    "hash",
    "signed_at",
    "key_id",
)


def canonical_bytes(obj: Mapping[str, Any]) -> bytes:
    """The canonical UTF-8 JSON of ``obj``: sorted keys, no whitespace, no ASCII escaping."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def event_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical bytes of ``record`` without its ``hash`` key."""
    body = dict(record)
    body.pop("hash", None)
    return hashlib.sha256(canonical_bytes(body)).hexdigest()


def format_timestamp(value: datetime) -> str:
    """A timezone-aware datetime as UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    if value.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return value.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(value: str) -> datetime:
    """The inverse of ``format_timestamp``."""
    return datetime.strptime(value, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


def normalise_ip(value: Any) -> str | None:
    """An IP address in ``ipaddress`` normal form; None when empty or not an address.

    Scoped IPv6 addresses lose their zone (PostgreSQL's ``inet`` has none).
    """
    if not value:
        return None
    text = str(value).split("%", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def clean_text(value: Any, max_length: int) -> str:
    """A string PostgreSQL can store unchanged: no NUL, valid UTF-8, at most ``max_length``."""
    text = "" if value is None else str(value)
    if "\x00" in text:
        text = text.replace("\x00", "")
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text[:max_length]


def normalise_changes(value: Any) -> Any:
    """``value`` as JSON that survives a round trip through ``jsonb`` unchanged.

    Dictionary keys become strings, tuples and sets lists, floats and any other type strings
    (``jsonb`` may rewrite ``1e+100`` as an integer, which would change the hash).
    """
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return clean_text(value, len(value))
    if isinstance(value, Mapping):
        return {clean_text(k, len(str(k))): normalise_changes(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise_changes(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((normalise_changes(item) for item in value), key=repr)
    if isinstance(value, float | Decimal):
        return repr(value) if isinstance(value, float) else str(value)
    return clean_text(value, len(str(value)))


def event_record(values: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical v1 record (with ``hash`` when present) of an event's stored values.

    ``values`` holds the model's field names (``agency_schema``, ``sequence``, ``prev_hash``,
    ``id``, ``occurred_at``, ... and optionally ``hash`` and ``version``).
    """
    event_id = values["id"]
    record: dict[str, Any] = {
        "v": int(values.get("version") or CHAIN_VERSION),
        "schema": values["agency_schema"],
        "sequence": int(values["sequence"]),
        "prev_hash": values["prev_hash"],
        "id": str(event_id if isinstance(event_id, uuid.UUID) else uuid.UUID(str(event_id))),
        "occurred_at": format_timestamp(values["occurred_at"]),
        "actor_type": values["actor_type"],
        "actor_id": values["actor_id"],
        "actor_role": values["actor_role"],
        "action": values["action"],
        "target_type": values["target_type"],
        "target_id": values["target_id"],
        "changes": values["changes"],
        "outcome": values["outcome"],
        "ip": normalise_ip(values["ip"]),
        "user_agent": values["user_agent"],
        "request_id": values["request_id"],
    }
    if values.get("hash") is not None:
        record["hash"] = values["hash"]
    return record


def checkpoint_message(
    *, schema: str, sequence: int, last_hash: str, signed_at: datetime, key_id: str
) -> dict[str, Any]:
    """The v1 checkpoint statement that is signed (its canonical bytes are the message)."""
    return {
        "v": CHAIN_VERSION,
        "type": CHECKPOINT_TYPE,
        "schema": schema,
        "sequence": int(sequence),
        "hash": last_hash,
        "signed_at": format_timestamp(signed_at),
        "key_id": key_id,
    }


TREE_HEAD_TYPE = "guichet.audit.tree_head"
TREE_HEAD_FIELDS_V1: tuple[str, ...] = (
    "v",
    "type",
    "schema",
    "tree_size",
    "root_hash",
    "timestamp",
    "key_id",
)


def tree_head_message(
    *, schema: str, tree_size: int, root_hash: str, timestamp: datetime, key_id: str
) -> dict[str, Any]:
    """The v1 signed tree head statement (its canonical bytes are what is signed).

    ``root_hash`` is the RFC 9162 Merkle tree hash of the first ``tree_size`` events of
    ``schema`` (64 lowercase hex digits), whose leaves are the events' ``hash`` values in
    sequence order (leaf ``i`` is event ``i + 1``).
    """
    return {
        "v": CHAIN_VERSION,
        "type": TREE_HEAD_TYPE,
        "schema": schema,
        "tree_size": int(tree_size),
        "root_hash": root_hash,
        "timestamp": format_timestamp(timestamp),
        "key_id": key_id,
    }
