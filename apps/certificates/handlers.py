"""Document jobs of the outbox (``kind="document"``)."""

from __future__ import annotations

from uuid import UUID

from apps.certificates.services import JOB_ISSUE, certificate_issue
from apps.outbox.handlers import DeliveryError
from apps.outbox.models import OutboxMessage


def document_run(message: OutboxMessage) -> None:
    """Run one document job (today: issuing a certificate); safe to run twice."""
    job = message.payload.get("job")
    if job == JOB_ISSUE:
        certificate_issue(application_id=UUID(message.payload["application_id"]))
        return
    raise DeliveryError(f"unknown document job {job!r}", permanent=True)
