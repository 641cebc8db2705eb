"""Sealing: giving appended audit events their place in the chain and the Merkle tree.

Writers insert events without a place (``sequence`` null) and without any lock held across
their transaction (``apps.audit.chain``). The sealer, one per schema at a time (a
transaction-level advisory lock that only sealers take), then in one transaction:

1. reads the chain head and the tree's right edge (its complete subtrees, ``AuditTreeNode``);
2. carries over events sealed before the tree existed (chain format 1 events get their
   leaves, in sequence order, the first time);
3. takes the committed unsealed events, oldest first (``occurred_at``, ``id``), numbers them
   on from the head, links and hashes them (chain format 1, ``apps.audit.canonical``), and
   writes their sealing (the one update the append-only trigger lets through) in one
   statement, with the tree's new complete subtrees;
4. signs the new tree head with the key ring's ``audit`` key (``AuditTreeHead``).

Who runs it: a Celery task kicked after each commit that appended events (debounced through
the hot-key store), the dedicated loop ``manage.py audit_seal --loop``, or ``audit_record``
itself with ``AUDIT_SEAL_INLINE`` (tests, and small deployments that accept the old
per-agency serialisation). Outside witnesses are sent the new heads after the commit
(``apps.audit.witness``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.audit.canonical import (
    CHAIN_VERSION,
    GENESIS_HASH,
    canonical_bytes,
    event_hash,
    event_record,
    tree_head_message,
)
from apps.audit.chain import EVENT_VALUE_FIELDS, lock_key
from apps.audit.merkle import Frontier, leaf_hash, perfect_subtrees
from apps.audit.models import AuditEvent, AuditTreeHead
from apps.core.tenancy import current_schema

logger = structlog.get_logger(__name__)

# First key of the sealer's advisory lock ("SEAL"); writers never take it.
SEAL_NAMESPACE = 0x5345414C
SEAL_BATCH = 5000
CARRY_OVER_CHUNK = 5000
# What an unsealed event holds: everything but its place.
CONTENT_FIELDS = tuple(
    name for name in EVENT_VALUE_FIELDS if name not in ("sequence", "prev_hash", "hash")
)


@dataclass
class SealOutcome:
    """What one sealing pass did in one schema."""

    schema: str
    sealed: int
    tree_size: int
    head: AuditTreeHead | None
    oldest_wait_seconds: float = 0.0
    places: dict[UUID, tuple[int, str, str]] = field(default_factory=dict)


def _frontier(cursor: Any, size: int) -> Frontier:
    wanted = perfect_subtrees(0, size)
    if not wanted:
        return Frontier()
    values = ", ".join(["(%s, %s)"] * len(wanted))
    params = [part for node in wanted for part in node]
    cursor.execute(
        "SELECT level, index, hash FROM audit_audittreenode "  # noqa: S608 - placeholders only
        f"WHERE (level, index) IN ({values})",
        params,
    )
    nodes = {(int(level), int(index)): bytes.fromhex(digest) for level, index, digest in cursor}
    return Frontier.load(size, nodes)


def _store_nodes(cursor: Any, nodes: list[tuple[tuple[int, int], bytes]]) -> None:
    for start in range(0, len(nodes), 5000):
        chunk = nodes[start : start + 5000]
        values = ", ".join(["(%s, %s, %s)"] * len(chunk))
        params: list[Any] = []
        for (level, index), digest in chunk:
            params += [level, index, digest.hex()]
        cursor.execute(
            f"INSERT INTO audit_audittreenode (level, index, hash) VALUES {values}",  # noqa: S608
            params,
        )


def _carry_over(cursor: Any, frontier: Frontier, head_sequence: int) -> None:
    """Leaves for events sealed before the tree existed (hash chain format 1, carried over)."""
    while frontier.size < head_sequence:
        cursor.execute(
            "SELECT sequence, hash FROM audit_auditevent WHERE sequence > %s "
            "ORDER BY sequence LIMIT %s",
            [frontier.size, CARRY_OVER_CHUNK],
        )
        rows = cursor.fetchall()
        if not rows:
            break
        nodes: list[tuple[tuple[int, int], bytes]] = []
        for sequence, digest in rows:
            if int(sequence) != frontier.size + 1:
                raise RuntimeError(f"the chain has a gap before sequence {sequence}")
            nodes += frontier.append(leaf_hash(bytes.fromhex(digest)))
        _store_nodes(cursor, nodes)


def _sign_head(schema: str, size: int, root: bytes, now: datetime) -> AuditTreeHead:
    """A tree head signed with the ring's active ``audit`` key (unsigned if there is none)."""
    from apps.accounts.keyring import keyring_signing_key
    from apps.accounts.models import KeyKind

    head = AuditTreeHead(agency_schema=schema, tree_size=size, root_hash=root.hex(), signed_at=now)
    try:
        key = keyring_signing_key(KeyKind.AUDIT)
    except Exception as exc:  # no key yet: the tree is stored, the next head is signed
        logger.error("audit_tree_head_unsigned", schema=schema, error=type(exc).__name__)
        return head
    assert key.private_key is not None
    message = tree_head_message(
        schema=schema, tree_size=size, root_hash=head.root_hash, timestamp=now, key_id=key.kid
    )
    head.key_id = key.kid
    import base64

    head.signature = base64.b64encode(key.private_key.sign(canonical_bytes(message))).decode()
    return head


def audit_seal(*, limit: int = SEAL_BATCH, sign: bool = True) -> SealOutcome:
    """Seal the current schema's committed unsealed events (at most ``limit``); see the module.

    Runs in the caller's transaction when there is one (then it also sees the caller's own
    unsealed events), otherwise in one of its own. Idempotent: nothing to seal, nothing done
    (no new head either).
    """
    schema = current_schema()
    now = timezone.now()
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SEAL_NAMESPACE, lock_key(schema)])
        cursor.execute(
            "SELECT sequence, hash FROM audit_auditevent WHERE sequence IS NOT NULL "
            "ORDER BY sequence DESC LIMIT 1"
        )
        row = cursor.fetchone()
        head_sequence, head_hash = (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)
        cursor.execute(
            "SELECT COALESCE(MAX(index) + 1, 0) FROM audit_audittreenode WHERE level = 0"
        )
        tree_size = int(cursor.fetchone()[0])
        frontier = _frontier(cursor, min(tree_size, head_sequence))
        grew = tree_size < head_sequence
        _carry_over(cursor, frontier, head_sequence)

        pending = list(
            AuditEvent.objects.filter(sequence__isnull=True)
            .order_by("occurred_at", "id")
            .values(
                *[
                    name
                    for name in EVENT_VALUE_FIELDS
                    if name not in ("sequence", "prev_hash", "hash")
                ]
            )[:limit]
        )
        outcome = SealOutcome(
            schema=schema, sealed=len(pending), tree_size=frontier.size, head=None
        )
        if pending:
            outcome.oldest_wait_seconds = max(
                0.0, (now - pending[0]["occurred_at"]).total_seconds()
            )
            sequence, prev_hash = head_sequence, head_hash
            rows: list[Any] = []
            nodes: list[tuple[tuple[int, int], bytes]] = []
            for values in pending:
                sequence += 1
                values.update(sequence=sequence, prev_hash=prev_hash)
                values["version"] = values.get("version") or CHAIN_VERSION
                digest = event_hash(event_record(values))
                rows += [values["id"], sequence, prev_hash, digest]
                outcome.places[values["id"]] = (sequence, prev_hash, digest)
                nodes += frontier.append(leaf_hash(bytes.fromhex(digest)))
                prev_hash = digest
            placeholders = ", ".join(["(%s::uuid, %s::bigint, %s, %s)"] * len(pending))
            cursor.execute(
                "UPDATE audit_auditevent AS e SET sequence = v.sequence, "  # noqa: S608
                "prev_hash = v.prev_hash, hash = v.hash, sealed_at = %s "
                f"FROM (VALUES {placeholders}) AS v(id, sequence, prev_hash, hash) "
                "WHERE e.id = v.id AND e.sequence IS NULL",
                [now, *rows],
            )
            if cursor.rowcount != len(pending):
                raise RuntimeError("an event was sealed by someone else during the seal")
            _store_nodes(cursor, nodes)
            outcome.tree_size = frontier.size
        if (pending or grew or _no_head_yet(frontier.size)) and sign and frontier.size:
            head = _sign_head(schema, frontier.size, frontier.root(), now)
            head.save()
            outcome.head = head
    if pending:
        logger.info(
            "audit_sealed",
            schema=schema,
            events=len(pending),
            tree_size=outcome.tree_size,
            oldest_wait_s=round(outcome.oldest_wait_seconds, 3),
        )
    return outcome


def _no_head_yet(size: int) -> bool:
    return not AuditTreeHead.objects.filter(tree_size=size).exists()


def audit_unsealed_count() -> int:
    """How many events of the current schema wait for their place."""
    return AuditEvent.objects.filter(sequence__isnull=True).count()


def seal_inline() -> bool:
    """Whether ``audit_record`` seals at once, in the writer's transaction."""
    return bool(getattr(settings, "AUDIT_SEAL_INLINE", False))


def schemas_with_unsealed(schemas: list[str]) -> list[str]:
    """Which of ``schemas`` have events waiting, in one query (the sealing loop's poll)."""
    if not schemas:
        return []
    parts = []
    for schema in schemas:
        quoted = '"' + schema.replace('"', '""') + '"'
        parts.append(
            f"SELECT %s WHERE EXISTS (SELECT 1 FROM {quoted}.audit_auditevent "  # noqa: S608
            "WHERE sequence IS NULL)"
        )
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), schemas)
        return [str(row[0]) for row in cursor.fetchall()]
