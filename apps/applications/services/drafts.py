"""Drafts: a citizen starts an application for a service and fills its form."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.applications.errors import ApplicationNotEditable, FormDataInvalid, ServiceUnknown
from apps.applications.models import Application, HistoryEntry
from apps.applications.services.common import (
    application_lock,
    check_if_match,
    entry_sync,
    snapshot,
)
from apps.applications.services.transitions import form_errors_for
from apps.applications.workflow import EDITABLE, Actor, Status
from apps.audit.services import audit_changes, audit_record
from apps.catalogue.selectors import service_get_published


@transaction.atomic
def application_create(
    *, citizen: User, service_code: str, form_data: dict[str, Any] | None = None
) -> Application:
    """A new draft of ``citizen`` for the published service ``service_code``.

    Answers given now are checked against the service's form like any later change (400
    ``form_data_invalid`` with field errors); a draft may also start empty.
    """
    service = service_get_published(code=service_code)
    if service is None:
        raise ServiceUnknown(errors={"service": [str(ServiceUnknown.default_detail)]})
    application = Application(service=service, citizen=citizen, form_data=form_data or {})
    if form_data is not None:
        errors = form_errors_for(application, form_data)
        if errors:
            raise FormDataInvalid(errors=errors)
    now = timezone.now()
    application.created_at = application.updated_at = now
    application.save(force_insert=True)
    HistoryEntry.objects.create(
        application=application,
        action="create",
        from_status="",
        to_status=Status.DRAFT,
        actor=citizen,
        actor_role=Actor.CITIZEN,
        occurred_at=now,
    )
    audit_record(
        action="application.created",
        target_type="application",
        target_id=application.id,
        changes=audit_changes(
            before={},
            after={"service": service.code, **snapshot(application)},
            redact=Application.AUDIT_REDACTED_FIELDS,
        ),
    )
    entry_sync(application)
    return application


@transaction.atomic
def application_form_update(
    *,
    application_id: UUID,
    citizen: User,
    form_data: dict[str, Any],
    if_match: str | None = None,
) -> Application:
    """Replace the answers of the citizen's draft (or of an application awaiting information).

    The whole form is sent and checked against the service's JSON Schema: 400
    ``form_data_invalid`` with field errors, and nothing is saved, when it does not fit.
    """
    application = application_lock(application_id=application_id, actor=citizen, role=Actor.CITIZEN)
    check_if_match(application, if_match)
    if application.status not in EDITABLE:
        raise ApplicationNotEditable()
    errors = form_errors_for(application, form_data)
    if errors:
        raise FormDataInvalid(errors=errors)
    before = snapshot(application)
    application.form_data = form_data
    application.version += 1
    application.updated_at = timezone.now()
    application.save(update_fields=["form_data", "version", "updated_at"])
    audit_record(
        action="application.form_updated",
        target_type="application",
        target_id=application.id,
        changes=audit_changes(
            before=before, after=snapshot(application), redact=Application.AUDIT_REDACTED_FIELDS
        ),
    )
    entry_sync(application)
    return application
