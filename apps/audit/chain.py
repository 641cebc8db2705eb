"""Appending to a schema's hash chain without forks, gaps or reordering.

Appends to one schema are serialised inside the writer's transaction by a transaction-level
advisory lock keyed on the schema: the writer takes the lock and reads the head (last sequence
and hash) in one call of ``public.guichet_audit_lock_head``, inserts the next event and keeps
the lock until its transaction ends. A
writer whose transaction rolls back leaves no gap: the next one reads the same head. The
unique constraint on ``sequence`` is the safety net.

Consequence: appends to one schema queue behind each other from ``audit_record`` to commit.
Call ``audit_record`` late in the transaction (it is usually the last write of a service).
"""

from __future__ import annotations

import zlib
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

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


# Takes the lock and reads the head in one round trip. A VOLATILE PL/pgSQL function takes a new
# snapshot for each statement (READ COMMITTED), so the SELECT after the lock sees the event the
# previous holder committed. The table resolves through the search path: the current schema's.
LOCK_HEAD_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION public.guichet_audit_lock_head(lock_namespace integer, lock_key integer)
RETURNS TABLE (head_sequence bigint, head_hash varchar)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_namespace, lock_key);
    RETURN QUERY
        SELECT e.sequence, e.hash FROM audit_auditevent e ORDER BY e.sequence DESC LIMIT 1;
END;
$$;
"""


def chain_lock_head() -> tuple[int, str]:
    """Take the current schema's append lock (until the transaction ends) and read its head.

    Returns ``(sequence, hash)`` of the last event, ``(0, 64 zeros)`` for an empty chain.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT head_sequence, head_hash FROM public.guichet_audit_lock_head(%s, %s)",
            [LOCK_NAMESPACE, lock_key(current_schema())],
        )
        row = cursor.fetchone()
    return (int(row[0]), str(row[1])) if row is not None else (0, GENESIS_HASH)


def chain_head() -> tuple[int, str]:
    """``(sequence, hash)`` of the last event of the current schema, (0, zeros) if none.

    Without the lock: a snapshot, for reads that need no serialisation.
    """
    head = AuditEvent.objects.order_by("-sequence").values_list("sequence", "hash").first()
    return head if head is not None else (0, GENESIS_HASH)


def chain_append(event: AuditEvent) -> AuditEvent:
    """Number, link, hash and insert ``event`` in the current schema's chain.

    ``occurred_at`` is set once the lock is held, so time never goes backwards along a chain.
    Runs in the caller's transaction when there is one (the lock is held until it ends),
    otherwise in a transaction of its own.
    """
    with transaction.atomic(savepoint=False):
        sequence, prev_hash = chain_lock_head()
        event.version = CHAIN_VERSION
        event.agency_schema = current_schema()
        event.sequence = sequence + 1
        event.prev_hash = prev_hash
        event.occurred_at = timezone.now()
        values = {name: getattr(event, name) for name in EVENT_VALUE_FIELDS if name != "hash"}
        event.hash = event_hash(event_record(values))
        _insert(event)
    return event


def _insert(event: AuditEvent) -> None:
    """One plain INSERT (the ORM's save machinery costs more than the statement here)."""
    params: list[Any] = [
        Jsonb(event.changes) if field.name == "changes" else getattr(event, field.attname)
        for field in _INSERT_FIELDS
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, params)
    event._state.adding = False
    event._state.db = connection.alias


_INSERT_FIELDS = tuple(AuditEvent._meta.concrete_fields)
# Built once from the model's own column names (no outside input).
_INSERT_SQL = 'INSERT INTO "{table}" ({columns}) VALUES ({placeholders})'.format(  # noqa: S608
    table=AuditEvent._meta.db_table,
    columns=", ".join(f'"{field.column}"' for field in _INSERT_FIELDS),
    placeholders=", ".join(["%s"] * len(_INSERT_FIELDS)),
)
