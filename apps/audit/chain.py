"""Appending to a schema's audit trail without holding a lock across the writer's transaction.

``chain_append`` inserts the event *unsealed*: no ``sequence``, ``prev_hash`` or ``hash`` yet,
one plain INSERT, no lock, so writers of one agency never queue behind each other. The sealer
(``apps.audit.sealing``) numbers, links and hashes the committed events in order shortly
after (within ``AUDIT_SEAL_MAX_DELAY`` seconds when a worker or the sealing loop runs) and
adds them to the agency's Merkle tree. A writer whose transaction rolls back leaves nothing,
so there is never a gap. Until it is sealed an event is already protected by the append-only
triggers: its content can never change, only its place be written, once.

After the commit of a transaction that appended events, the sealer is kicked (a Celery task,
at most one queued per schema: a hot key marks it). With ``AUDIT_SEAL_INLINE`` (tests, and
deployments that accept the old per-agency serialisation) ``chain_append`` seals at once in
the writer's transaction, so the event comes back numbered and hashed.

``public.guichet_audit_lock_head`` (the lock-and-head function of chain format 1's writers)
stays for migrations that reference it.
"""

from __future__ import annotations

import zlib
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from apps.audit.canonical import CHAIN_VERSION, GENESIS_HASH
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
    head = (
        AuditEvent.objects.filter(sequence__isnull=False)
        .order_by("-sequence")
        .values_list("sequence", "hash")
        .first()
    )
    if head is None or head[0] is None or head[1] is None:
        return (0, GENESIS_HASH)
    return (int(head[0]), str(head[1]))


def chain_append(event: AuditEvent) -> AuditEvent:
    """Insert ``event`` unsealed in the current schema's trail (one INSERT, no lock).

    Runs in the caller's transaction when there is one, otherwise commits on its own. The
    sealer is kicked once the transaction commits; with ``AUDIT_SEAL_INLINE`` the event is
    sealed at once (in the caller's transaction) and comes back with its place and hash.
    """
    from apps.audit.sealing import audit_seal, seal_inline

    event.version = CHAIN_VERSION
    event.agency_schema = current_schema()
    event.sequence = None
    event.prev_hash = None
    event.hash = None
    event.occurred_at = timezone.now()
    if seal_inline():
        with transaction.atomic(savepoint=False):
            _insert(event)
            outcome = audit_seal(sign=False)  # heads come from the sealing passes
        place = outcome.places.get(event.pk)
        if place is not None:
            event.sequence, event.prev_hash, event.hash = place
            event.sealed_at = outcome.head.signed_at if outcome.head is not None else None
        return event
    _insert(event)
    _kick_after_commit(event.agency_schema)
    return event


def _kick_after_commit(schema: str) -> None:
    """Wake the sealer once the writer's transaction commits (nothing if it rolls back)."""
    from apps.audit.tasks import audit_seal_kick

    transaction.on_commit(lambda: audit_seal_kick(schema))


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
