"""Helpers shared by the application services: locking, visibility, ETags, the public index."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import Prefetch

from apps.accounts.models import User
from apps.applications.errors import ApplicationChanged, ApplicationNotFound
from apps.applications.models import Application, Attachment, HistoryEntry
from apps.applications.workflow import STAFF_VISIBLE, Actor
from apps.core.tenancy import current_schema
from apps.directory.services import application_entry_upsert

# Fields whose old and new values go in the audit event of a change.
AUDITED_FIELDS = (
    "status",
    "assignee_id",
    "reference",
    "submitted_at",
    "due_at",
    "clock_paused_at",
    "paused_working_days",
    "overdue_flagged_at",
    "decided_at",
    "decision_reason",
    "info_request",
    "form_data",
)


def snapshot(application: Application) -> dict[str, Any]:
    """The audited fields of an application, before or after a change."""
    return {field: getattr(application, field) for field in AUDITED_FIELDS}


def application_lock(
    *, application_id: UUID, actor: User | None, role: str, with_details: bool = False
) -> Application:
    """The application, locked until the transaction ends, if ``actor`` may see it.

    A citizen sees only their own applications, staff every application but drafts; anything
    else is "not found" (404), never "forbidden": it must not reveal that the id exists. The
    service and the citizen come with it (one query); ``with_details`` also loads its
    documents and history (as the citizen's answer shows them).
    """
    queryset = Application.objects.select_for_update(of=("self",)).select_related(
        "service", "citizen"
    )
    if with_details:
        queryset = queryset.prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("created_at", "id")),
            Prefetch("history", queryset=HistoryEntry.objects.order_by("occurred_at", "id")),
        )
    application = queryset.filter(pk=application_id).first()
    if application is None or not is_visible(application, actor=actor, role=role):
        raise ApplicationNotFound()
    return application


def is_visible(application: Application, *, actor: User | None, role: str) -> bool:
    """Whether ``actor`` acting as ``role`` may see ``application`` at all."""
    if role == Actor.CITIZEN:
        return actor is not None and application.citizen_id == actor.pk
    return application.status in STAFF_VISIBLE


def etag_matches(if_match: str, etag: str) -> bool:
    """Strong comparison of an ``If-Match`` header (one or more tags) with the current ETag."""
    candidates = [tag.strip() for tag in if_match.split(",")]
    return etag in candidates


def check_if_match(application: Application, if_match: str | None) -> None:
    """412 when the caller sent a tag that is not the current one (nothing sent: no check)."""
    if if_match is not None and not etag_matches(if_match, application.etag):
        raise ApplicationChanged()


def entry_sync(application: Application) -> None:
    """Refresh the citizen's cross-agency index row, in the caller's transaction."""
    service = application.service
    application_entry_upsert(
        application_id=application.id,
        agency_schema=current_schema(),
        citizen_id=application.citizen_id,
        reference=application.reference or "",
        service_code=service.code,
        service_name_fr=service.name_fr,
        service_name_en=service.name_en,
        status=application.status,
        submitted_at=application.submitted_at,
        due_at=application.due_at,
        updated_at=application.updated_at,
    )
