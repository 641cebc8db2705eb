"""Celery entry points: periodic chain verification and daily checkpoints.

Each periodic task fans out explicitly: one subtask per schema (public first, then every
agency), each taking the schema name and switching to it, so one broken or slow agency does
not hold the others back and a failure is retried for that schema alone. All are idempotent.
"""

from __future__ import annotations

from typing import Any

import structlog
from celery import shared_task
from django.db import OperationalError
from django_tenants.utils import schema_context

from apps.audit.checkpoints import audit_checkpoint_create
from apps.audit.selectors import audit_schemas
from apps.audit.verification import audit_chain_check
from apps.core.context import set_context, system_context

logger = structlog.get_logger(__name__)


@shared_task(name="apps.audit.tasks.audit_verify_all", acks_late=True)
def audit_verify_all() -> list[str]:
    """Queue the verification of every chain; returns the schemas queued."""
    set_context(system_context("audit.verify_all"))
    schemas = audit_schemas()
    for schema in schemas:
        audit_verify_schema.delay(schema_name=schema)
    logger.info("audit_verify_queued", schemas=len(schemas))
    return schemas


@shared_task(
    name="apps.audit.tasks.audit_verify_schema",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def audit_verify_schema(*, schema_name: str) -> dict[str, Any]:
    """Verify one schema's chain, log and audit the result (in that chain)."""
    set_context(system_context("audit.verify_schema"))
    if schema_name not in audit_schemas():
        logger.warning("audit_verify_skipped", schema=schema_name)
        return {"schema": schema_name, "skipped": True}
    return audit_chain_check(schema=schema_name).as_dict()


@shared_task(name="apps.audit.tasks.audit_checkpoint_all", acks_late=True)
def audit_checkpoint_all() -> list[str]:
    """Queue the daily checkpoint of every chain; returns the schemas queued."""
    set_context(system_context("audit.checkpoint_all"))
    schemas = audit_schemas()
    for schema in schemas:
        audit_checkpoint_schema.delay(schema_name=schema)
    return schemas


@shared_task(
    name="apps.audit.tasks.audit_checkpoint_schema",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def audit_checkpoint_schema(*, schema_name: str) -> dict[str, Any]:
    """Sign the head of one schema's chain (nothing new since the last one: nothing to do)."""
    set_context(system_context("audit.checkpoint_schema"))
    if schema_name not in audit_schemas():
        logger.warning("audit_checkpoint_skipped", schema=schema_name)
        return {"schema": schema_name, "skipped": True}
    with schema_context(schema_name):
        outcome = audit_checkpoint_create()
    return {
        "schema": schema_name,
        "sequence": outcome.checkpoint.sequence,
        "created": outcome.created,
    }


# --- Sealing ---------------------------------------------------------------------------------

SEAL_KICK_NAMESPACE = "audit-seal"
# A kick whose task never ran (a worker lost it) stops suppressing new kicks after this.
SEAL_KICK_TTL_SECONDS = 5.0


def audit_seal_kick(schema: str) -> None:
    """Queue the sealing of ``schema`` unless a queued sealing has not started yet.

    The hot key is set by the first kick and deleted by the task *before* it reads the
    unsealed events, so an event committed before the deletion is read by that task and one
    committed after it kicks again: nothing waits for the next periodic pass. Never raises
    (the sealing loop or the next kick catches up).
    """
    from apps.hotkeys.keys import hot_key
    from apps.hotkeys.registry import get_store

    try:
        if get_store().add(hot_key(schema, SEAL_KICK_NAMESPACE), 1, ttl=SEAL_KICK_TTL_SECONDS) != 1:
            return
        audit_seal_schema.delay(schema_name=schema)
    except Exception as exc:
        logger.warning("audit_seal_kick_failed", schema=schema, error=type(exc).__name__)


@shared_task(
    name="apps.audit.tasks.audit_seal_schema",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def audit_seal_schema(*, schema_name: str) -> dict[str, Any]:
    """Seal one schema's waiting events, then send its new tree head to the witness."""
    from apps.audit.sealing import audit_seal
    from apps.audit.witness import audit_witness_submit
    from apps.hotkeys.keys import hot_key
    from apps.hotkeys.registry import get_store

    set_context(system_context("audit.seal_schema"))
    try:
        get_store().delete(hot_key(schema_name, SEAL_KICK_NAMESPACE))
    except Exception as exc:
        logger.warning("audit_seal_unmark_failed", schema=schema_name, error=type(exc).__name__)
    with schema_context(schema_name):
        outcome = audit_seal()
        while outcome.sealed >= 5000:  # a backlog: keep going
            outcome = audit_seal()
        if outcome.head is not None:
            audit_witness_submit(outcome.head)
    return {"schema": schema_name, "sealed": outcome.sealed, "tree_size": outcome.tree_size}


@shared_task(name="apps.audit.tasks.audit_seal_all", acks_late=True)
def audit_seal_all() -> list[str]:
    """Queue the sealing of every schema that has events waiting (the periodic backstop)."""
    from apps.audit.sealing import schemas_with_unsealed

    set_context(system_context("audit.seal_all"))
    schemas = schemas_with_unsealed(audit_schemas())
    for schema in schemas:
        audit_seal_schema.delay(schema_name=schema)
    return schemas
