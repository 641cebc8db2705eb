"""Appending to a schema's hash chain without forks, gaps or reordering.

Appends to one schema are serialised inside the writer's transaction by a transaction-level
advisory lock keyed on the schema: the writer takes the lock, reads the head (last sequence
and hash; READ COMMITTED takes a new snapshot per statement, so it sees the previous holder's
committed event), inserts the next event and keeps the lock until its transaction ends. A
writer whose transaction rolls back leaves no gap: the next one reads the same head. The
unique constraint on ``sequence`` is the safety net.

Consequence: appends to one schema queue behind each other from ``audit_record`` to commit.
Call ``audit_record`` late in the transaction (it is usually the last write of a service).
"""

from __future__ import annotations

import zlib

from django.db import connection, transaction
from django.utils import timezone

from apps.audit.canonical import CHAIN_VERSION, GENESIS_HASH, event_hash, event_record
from apps.audit.models import AuditEvent
from apps.core.tenancy import current_schema

# First key of the two-int advisory lock: "audit" chains, distinct from other lock users.
LOCK_NAMESPACE = 0x41554454  # "AUDT"

EVENT_VALUE_FIELDS: tuple[str, ...] = (
    "id",
    "version",
    "agency_schema",
    "sequence",
    "prev_hash",
    "hash",
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


def lock_key(schema: str) -> int:
    """The second advisory-lock key of ``schema`` (a signed 32-bit CRC of its name)."""
    value = zlib.crc32(schema.encode("utf-8"))
    return value - (1 << 32) if value >= (1 << 31) else value


def chain_lock() -> None:
    """Take the append lock of the current schema until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, lock_key(current_schema())]
        )


def chain_head() -> tuple[int, str]:
    """``(sequence, hash)`` of the last event of the current schema, (0, zeros) if none."""
    head = AuditEvent.objects.order_by("-sequence").values_list("sequence", "hash").first()
    return head if head is not None else (0, GENESIS_HASH)


def chain_append(event: AuditEvent) -> AuditEvent:
    """Number, link, hash and insert ``event`` in the current schema's chain.

    ``occurred_at`` is set once the lock is held, so time never goes backwards along a chain.
    Runs in the caller's transaction when there is one (the lock is held until it ends),
    otherwise in a transaction of its own.
    """
    with transaction.atomic(savepoint=False):
        chain_lock()
        sequence, prev_hash = chain_head()
        event.version = CHAIN_VERSION
        event.agency_schema = current_schema()
        event.sequence = sequence + 1
        event.prev_hash = prev_hash
        event.occurred_at = timezone.now()
        values = {name: getattr(event, name) for name in EVENT_VALUE_FIELDS if name != "hash"}
        event.hash = event_hash(event_record(values))
        event.save(force_insert=True)
    return event
