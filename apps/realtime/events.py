"""What an event says: the queue's words for each transition and the payload each receiver gets.

This module and ``apps.realtime.protocol`` are the message definitions the AsyncAPI document
(``asyncapi.yml``) is generated from. Payloads carry ids, the reference, the status and the
service, with labels in the receiver's language; never form answers, documents, reasons or
names.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from apps.applications.workflow import Status

# Audit action of the transition -> the queue's word for it.
QUEUE_CHANGES: dict[str, str] = {
    "application.submitted": "submitted",
    "application.taken": "taken",
    "application.assigned": "taken",
    "application.reassigned": "taken",
    "application.info_requested": "info_requested",
    "application.info_answered": "answered",
    "application.approved": "decided",
    "application.rejected": "decided",
    "application.withdrawn": "withdrawn",
    "application.closed": "closed",
}

CHANGE_LABELS: dict[str, Any] = {
    "submitted": _("New submission"),
    "taken": _("Taken by an agent"),
    "info_requested": _("Information requested from the citizen"),
    "answered": _("Answered by the citizen"),
    "decided": _("Decided"),
    "withdrawn": _("Withdrawn by the citizen"),
    "closed": _("Closed"),
}

# Transitions that do not change the status (reassignment) are the agency's business only.
CITIZEN_SILENT = frozenset({"application.reassigned"})

# Event names on the wire.
EVENT_STATUS_CHANGED = "application.status_changed"
EVENT_QUEUE_CHANGED = "queue.changed"


def status_label(status: str) -> str:
    """The status's name in the active language."""
    try:
        return str(Status(status).label)
    except ValueError:
        return status


def event_payload(event: Any, *, audience: str, language: str) -> dict[str, Any]:
    """The ``data`` of one event for a citizen (``audience="citizen"``) or staff (``"staff"``),
    with labels in ``language``."""
    english = language.startswith("en")
    with translation.override("en" if english else "fr"):
        data: dict[str, Any] = {
            "application": {
                "id": str(event.application_id),
                "reference": event.reference,
                "status": event.status,
                "status_label": status_label(event.status),
            },
            "service": {
                "code": event.service_code,
                "name": (event.service_name_en if english else event.service_name_fr)
                or event.service_code,
            },
            "agency": {
                "slug": event.agency_slug,
                "name": event.agency_name_en if english else event.agency_name_fr,
            },
            "occurred_at": event.occurred_at.isoformat(),
        }
        if audience == "staff":
            data["change"] = event.change
            data["change_label"] = str(CHANGE_LABELS.get(event.change, event.change))
            data["application"]["assignee_id"] = (
                str(event.assignee_id) if event.assignee_id else None
            )
        return data
