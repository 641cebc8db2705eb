"""Platform-level Celery tasks."""

from __future__ import annotations

import structlog
from celery import shared_task

from apps.audit.services import audit_record
from apps.core.context import set_context, system_context
from apps.core.tenancy import current_schema

logger = structlog.get_logger(__name__)


@shared_task(name="core.schema_probe", acks_late=True)
def schema_probe(*, marker: str) -> dict[str, object]:
    """Record which schema the task ran in and whether it could read ``marker`` there.

    Used by operators (and tests) to check that tasks run in the agency that queued them:
    the marker is the action of an audit event written by the queuing side in its schema.
    """
    from apps.audit.models import AuditEvent

    set_context(system_context("core.schema_probe"))
    found = AuditEvent.objects.filter(action=marker).exists()
    audit_record(
        action="core.schema_probe",
        target_type="probe",
        target_id=marker,
        changes={"found": {"old": None, "new": found}},
    )
    logger.info("schema_probe_ran", schema=current_schema(), found=found)
    return {"schema": current_schema(), "found": found}
