"""``application_transition``: the one service that changes an application's status.

Every caller (citizen API, staff API, admin console) goes through it, so the same rules and the
same audit apply everywhere: visibility (404), role (403), ``If-Match`` (428/412), current
status (409), reason and assignee rules (400); then the change, its history entry, its audit
event, its index row and its follow-up work (notifications, webhook events, certificate job:
outbox rows, relayed once the transaction commits) in one transaction.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Membership, User
from apps.applications.clock import clock_apply
from apps.applications.errors import (
    AlreadyAssigned,
    AssigneeInvalid,
    AttachmentsMissing,
    FormDataInvalid,
    NotAssignee,
    PreconditionRequired,
    ReasonRequired,
    ServiceNotPublished,
    TransitionForbidden,
    TransitionNotAllowed,
)
from apps.applications.models import Application, HistoryEntry
from apps.applications.references import reference_allocate
from apps.applications.services.common import (
    application_lock,
    check_if_match,
    entry_sync,
    snapshot,
)
from apps.applications.workflow import (
    STAFF_WORKERS,
    Actor,
    Assignment,
    Reason,
    Transition,
    transition_get,
)
from apps.audit.services import audit_changes, audit_record
from apps.catalogue.calendar import add_working_days
from apps.catalogue.validation import form_data_errors
from apps.core.tenancy import current_schema
from apps.notifications.dispatch import application_event_dispatch

MAX_REASON_CHARS = 5000


def form_errors_for(application: Application, form_data: Any) -> dict[str, list[str]]:
    """The service's form errors, keyed ``form_data.<path>`` like the request body."""
    errors = form_data_errors(application.service, form_data)
    return {f"form_data.{field}": messages for field, messages in errors.items()}


def _assignable(user_id: UUID | None) -> User:
    """An active agent, supervisor or admin of the current agency."""
    membership = (
        Membership.objects.select_related("user")
        .filter(
            user_id=user_id,
            agency__schema_name=current_schema(),
            is_active=True,
            user__is_active=True,
            role__in=sorted(STAFF_WORKERS),
        )
        .first()
        if user_id is not None
        else None
    )
    if membership is None:
        raise AssigneeInvalid(errors={"assignee": [str(AssigneeInvalid.default_detail)]})
    return membership.user


def _check_submittable(application: Application) -> None:
    """The service still takes applications, the answers are valid, required documents are in."""
    service = application.service
    if not service.is_published:
        raise ServiceNotPublished()
    errors = form_errors_for(application, application.form_data)
    if errors:
        raise FormDataInvalid(errors=errors)
    attached = set(application.attachments.values_list("document_type", flat=True))
    missing = {
        f"attachments.{item['code']}": [_("This document is required.")]
        for item in service.document_types or []
        if item.get("required") and item.get("code") not in attached
    }
    if missing:
        raise AttachmentsMissing(errors=missing)


def _clean_reason(transition: Transition, reason: str | None) -> str:
    text = (reason or "").strip()
    if transition.reason is Reason.REQUIRED and not text:
        raise ReasonRequired(errors={"reason": [_("This field is required.")]})
    if len(text) > MAX_REASON_CHARS:
        raise ReasonRequired(
            errors={
                "reason": [_("Write at most %(limit)d characters.") % {"limit": MAX_REASON_CHARS}]
            }
        )
    return text if transition.reason is not Reason.NONE else ""


def _check_allowed(
    transition: Transition, application: Application, *, actor: User, role: str
) -> None:
    if application.status not in transition.sources or (
        transition.requires_assignee and application.assignee_id is None
    ):
        raise TransitionNotAllowed(extra={"current_status": application.status})
    if (
        transition.agent_must_be_assignee
        and role == Actor.AGENT
        and application.assignee_id != actor.pk
    ):
        raise NotAssignee()


def _apply_assignment(
    transition: Transition, application: Application, *, actor: User, assignee_id: UUID | None
) -> None:
    if transition.assignment is Assignment.SELF:
        if application.assignee_id not in (None, actor.pk):
            raise AlreadyAssigned()
        application.assignee = actor
    elif transition.assignment is Assignment.GIVEN:
        assignee = _assignable(assignee_id)
        if transition.target is None and assignee.pk == application.assignee_id:
            raise AssigneeInvalid(
                _("The application is already assigned to this person."),
                errors={"assignee": [_("Choose someone else.")]},
            )
        application.assignee = assignee


def _apply_effects(
    transition: Transition,
    application: Application,
    *,
    reason: str,
    form_data: dict[str, Any] | None,
    now: Any,
) -> None:
    action = transition.action
    if action == "submit":
        _check_submittable(application)
        application.reference = reference_allocate(at=now)
        application.submitted_at = now
        application.due_at = add_working_days(now, application.service.sla_working_days)
    elif action == "request_info":
        application.info_request = reason
    elif action == "answer_info":
        if form_data is not None:
            errors = form_errors_for(application, form_data)
            if errors:
                raise FormDataInvalid(errors=errors)
            application.form_data = form_data
        application.info_request = ""
    elif action in ("approve", "reject"):
        application.decided_at = now
        application.decision_reason = reason


@transaction.atomic
def application_transition(
    *,
    application_id: UUID,
    action: str,
    actor: User,
    role: str,
    reason: str | None = None,
    assignee_id: UUID | None = None,
    if_match: str | None = None,
    form_data: dict[str, Any] | None = None,
) -> Application:
    """Make the workflow transition ``action`` on an application, as ``actor`` in ``role``.

    ``role`` is ``"citizen"`` or the actor's role in this agency (from their token or console
    session). Staff transitions require ``if_match`` (the ETag they read): missing is 428
    ``precondition_required``, stale is 412 ``precondition_failed``; concurrent decisions queue
    on the row lock, so exactly one of them wins. Raises the errors of
    ``apps.applications.errors``; nothing is written when one is raised.
    """
    transition = transition_get(action)
    if transition is None:
        raise ValueError(f"unknown transition {action!r}")
    application = application_lock(application_id=application_id, actor=actor, role=role)
    if role not in transition.roles:
        raise TransitionForbidden()
    if transition.by_staff and not if_match:
        raise PreconditionRequired()
    check_if_match(application, if_match)
    _check_allowed(transition, application, actor=actor, role=role)
    text = _clean_reason(transition, reason)

    now = timezone.now()
    before = snapshot(application)
    from_status = application.status
    _apply_assignment(transition, application, actor=actor, assignee_id=assignee_id)
    _apply_effects(transition, application, reason=text, form_data=form_data, now=now)
    clock_apply(application, target=transition.target, now=now)
    if transition.target is not None:
        application.status = transition.target
    application.version += 1
    application.updated_at = now
    application.save()

    HistoryEntry.objects.create(
        application=application,
        action=transition.action,
        from_status=from_status,
        to_status=application.status,
        actor=actor,
        actor_role=role,
        assignee_id=application.assignee_id,
        reason=text,
        reason_is_public=transition.reason_is_public,
        occurred_at=now,
    )
    audit_record(
        action=transition.event,
        target_type="application",
        target_id=application.id,
        changes=audit_changes(
            before=before,
            after=snapshot(application),
            redact=Application.AUDIT_REDACTED_FIELDS,
        ),
    )
    entry_sync(application)
    # Notifications, webhook events and the certificate job: outbox rows of this transaction.
    application_event_dispatch(application=application, event=transition.event, actor_id=actor.pk)
    return application


def application_submit(
    *, application_id: UUID, citizen: User, if_match: str | None = None
) -> Application:
    """The citizen submits their draft: reference, deadline, status ``submitted``."""
    return application_transition(
        application_id=application_id,
        action="submit",
        actor=citizen,
        role=Actor.CITIZEN,
        if_match=if_match,
    )
