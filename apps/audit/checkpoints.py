"""Signed checkpoints: the head of a chain, signed with the schema's Ed25519 key.

A checkpoint states "event ``sequence`` of ``schema`` has hash ``hash``" at ``signed_at``. It
is created daily (Celery beat, ``manage.py audit_checkpoint``); its own creation is the event
it signs (``audit.checkpoint_signed``), so a checkpoint covers everything up to itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from django.db import transaction
from django.utils import timezone

from apps.audit.canonical import canonical_bytes, checkpoint_message
from apps.audit.chain import chain_head
from apps.audit.models import AuditCheckpoint
from apps.audit.selectors import audit_checkpoint_latest
from apps.audit.services import audit_record
from apps.audit.signing import SchemaKey, schema_key
from apps.core.tenancy import current_schema

logger = structlog.get_logger(__name__)

CHECKPOINT_ACTION = "audit.checkpoint_signed"


@dataclass(frozen=True)
class CheckpointOutcome:
    """What ``audit_checkpoint_create`` did."""

    checkpoint: AuditCheckpoint
    created: bool


def checkpoint_document(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    """The signed message of ``checkpoint`` plus its ``signature`` (as exported)."""
    document = checkpoint_message(
        schema=checkpoint.agency_schema,
        sequence=checkpoint.sequence,
        last_hash=checkpoint.hash,
        signed_at=checkpoint.signed_at,
        key_id=checkpoint.key_id,
    )
    document["signature"] = checkpoint.signature
    return document


def checkpoint_is_valid(checkpoint: AuditCheckpoint, key: SchemaKey) -> bool:
    """Whether ``checkpoint`` carries ``key``'s valid signature of its own statement."""
    if checkpoint.key_id != key.key_id or checkpoint.agency_schema != key.schema:
        return False
    message = {k: v for k, v in checkpoint_document(checkpoint).items() if k != "signature"}
    return key.verify(canonical_bytes(message), checkpoint.signature)


@transaction.atomic
def audit_checkpoint_create(*, force: bool = False) -> CheckpointOutcome:
    """Sign the head of the current schema's chain, unless nothing happened since the last one.

    Seals what is waiting (holding the sealer's lock until the transaction ends), records the
    ``audit.checkpoint_signed`` event, seals it and signs its (sequence, hash). Without
    ``force``, when the head is still the last checkpoint's own event the existing checkpoint
    is returned (running it twice is harmless).
    """
    from apps.audit.sealing import audit_seal

    schema = current_schema()
    audit_seal()
    head_sequence, _head_hash = chain_head()
    latest = audit_checkpoint_latest()
    if not force and latest is not None and latest.sequence == head_sequence:
        return CheckpointOutcome(latest, created=False)
    key = schema_key(schema)
    event = audit_record(
        action=CHECKPOINT_ACTION,
        target_type="audit_chain",
        target_id=schema,
        changes={
            "previous_checkpoint": {
                "old": None,
                "new": latest.sequence if latest is not None else None,
            },
            "key_id": {"old": None, "new": key.key_id},
        },
    )
    if event.sequence is None:
        event.sequence, event.prev_hash, event.hash = audit_seal().places[event.pk]
    assert event.sequence is not None
    assert event.hash is not None
    signed_at = timezone.now()
    message = checkpoint_message(
        schema=schema,
        sequence=event.sequence,
        last_hash=event.hash,
        signed_at=signed_at,
        key_id=key.key_id,
    )
    checkpoint = AuditCheckpoint(
        agency_schema=schema,
        sequence=event.sequence,
        hash=event.hash,
        signed_at=signed_at,
        key_id=key.key_id,
        signature=key.sign(canonical_bytes(message)),
    )
    checkpoint.save()
    logger.info("audit_checkpoint_signed", schema=schema, sequence=event.sequence)
    return CheckpointOutcome(checkpoint, created=True)
