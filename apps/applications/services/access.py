"""Access events: staff reading an application or a document, cross-agency probes."""

from __future__ import annotations

from uuid import UUID

import structlog

from apps.applications.models import Application, Attachment
from apps.audit.models import Outcome
from apps.audit.services import audit_record
from apps.core.tenancy import current_schema
from apps.directory.services import application_entry_agency_of

logger = structlog.get_logger(__name__)


def application_view_record(*, application: Application) -> None:
    """Record that a civil servant opened an application (personal data was shown)."""
    audit_record(action="application.viewed", target_type="application", target_id=application.id)


def attachment_download_record(*, attachment: Attachment) -> None:
    """Record that a civil servant downloaded a citizen's document."""
    audit_record(
        action="application.attachment_downloaded",
        target_type="application",
        target_id=attachment.application_id,
        changes={"attachment": {"old": None, "new": str(attachment.id)}},
    )


def cross_agency_probe_record(*, application_id: UUID) -> bool:
    """If ``application_id`` belongs to another agency, record the denied probe (platform trail).

    Called when an id is not found here; the caller still answers 404. Returns whether it was
    another agency's.
    """
    schema = application_entry_agency_of(application_id=application_id)
    if schema is None or schema == current_schema():
        return False
    audit_record(
        action="access.cross_agency_denied",
        target_type="application",
        target_id=application_id,
        changes={
            "requested_on": {"old": None, "new": current_schema()},
            "held_by": {"old": None, "new": schema},
        },
        outcome=Outcome.DENIED,
        platform=True,
    )
    logger.warning("cross_agency_probe", target_type="application")
    return True
