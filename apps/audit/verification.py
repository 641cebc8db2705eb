"""Verifying the chains stored in PostgreSQL (command, periodic task).

Streams a schema's events through the pure verifier (``apps.audit.verify``) with its signed
checkpoints as anchors, so rewriting the chain from some point on and re-hashing it, or
deleting its last events, is caught as long as a checkpoint covers them. A checkpoint whose
signature does not verify with the schema's key is itself a broken link.
"""

from __future__ import annotations

import dataclasses

import structlog
from django_tenants.utils import schema_context

from apps.audit.checkpoints import checkpoint_is_valid
from apps.audit.models import Outcome
from apps.audit.selectors import audit_checkpoint_list, audit_event_records
from apps.audit.services import audit_record
from apps.audit.signing import schema_key
from apps.audit.verify import Anchor, ChainBreak, VerifyResult, chain_verify

logger = structlog.get_logger(__name__)

VERIFIED_ACTION = "audit.chain_verified"


def audit_chain_verify(*, schema: str) -> VerifyResult:
    """Verify the whole chain of ``schema`` against its checkpoints (read-only)."""
    key = schema_key(schema)
    with schema_context(schema):
        anchors: list[Anchor] = []
        bad_checkpoint: ChainBreak | None = None
        for checkpoint in audit_checkpoint_list().iterator():
            if checkpoint.key_id != key.key_id:
                # Signed before a key rotation: not verifiable with today's key, so not an
                # anchor either (docs/audit.md, "Checkpoints and keys").
                logger.warning(
                    "audit_checkpoint_other_key", schema=schema, sequence=checkpoint.sequence
                )
                continue
            if checkpoint_is_valid(checkpoint, key):
                anchors.append(Anchor(checkpoint.sequence, checkpoint.hash))
            elif bad_checkpoint is None:
                bad_checkpoint = ChainBreak(
                    checkpoint.sequence,
                    "checkpoint_signature_invalid",
                    f"checkpoint {checkpoint.pk} does not verify with key {key.key_id}",
                )
        result = chain_verify(audit_event_records(), schema=schema, anchors=anchors)
    if bad_checkpoint is not None and (
        result.first_break is None or bad_checkpoint.sequence < result.first_break.sequence
    ):
        result = dataclasses.replace(result, first_break=bad_checkpoint)
    return result


def audit_chain_check(*, schema: str, record: bool = True) -> VerifyResult:
    """Verify ``schema``'s chain, log the result and (by default) audit it in that chain.

    A broken chain is logged at error level (``audit_chain_broken``) and recorded with
    outcome ``failed`` and the first broken link in ``changes``.
    """
    result = audit_chain_verify(schema=schema)
    summary = result.as_dict()
    if result.ok:
        logger.info(
            "audit_chain_verified",
            schema=schema,
            checked=result.checked,
            last_sequence=result.last_sequence,
        )
    else:
        assert result.first_break is not None
        logger.error(
            "audit_chain_broken",
            schema=schema,
            sequence=result.first_break.sequence,
            reason=result.first_break.reason,
        )
    if record:
        with schema_context(schema):
            audit_record(
                action=VERIFIED_ACTION,
                target_type="audit_chain",
                target_id=schema,
                changes={"result": {"old": None, "new": summary}},
                outcome=Outcome.SUCCESS if result.ok else Outcome.FAILED,
            )
    return result
