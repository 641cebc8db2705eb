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
from apps.applications.references import reference_claim
from apps.applications.services.common import (
    application_lock,
    check_if_match,
    entry_sync,
    snapshot,
)
from apps.applications.workflow import (
    RELEASES_TO_AGENCY,
    STAFF_WORKERS,
    Actor,
    Assignment,
    Reason,
    Status,
    Transition,
    transition_get,
    transition_target,
)
from apps.audit.services import audit_changes, audit_record
from apps.catalogue.calendar import add_working_days
from apps.catalogue.validation import form_data_errors
from apps.core.batching import deferred, late_value, pipelined_writes, resolved
from apps.core.tenancy import current_schema
from apps.notifications.dispatch import application_event_dispatch, application_event_prepare
from apps.payments.gate import fee_is_due

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
    attached = {attachment.document_type for attachment in application.attachments.all()}
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
        application.assignee_id = actor.pk  # the id only: a token's user is not loaded
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
        # The reference is claimed last (``application_transition``): its counter is locked.
        application.submitted_at = now
    if action in RELEASES_TO_AGENCY:
        application.due_at = add_working_days(now, application.service.sla_working_days)
    if action == "request_info":
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


# What a transition writes to the application row (one UPDATE, sent with the other writes).
SAVED_FIELDS = (
    "reference",
    "status",
    "form_data",
    "assignee_id",
    "submitted_at",
    "due_at",
    "decided_at",
    "decision_reason",
    "info_request",
    "clock_paused_at",
    "paused_working_days",
    "overdue_flagged_at",
    "version",
    "updated_at",
)


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

    Round trips (benches/README.md, "Writes"): every read comes first (the locked row with its
    service, citizen, documents and history; holidays; webhook subscriptions), then the
    reference of a submit is claimed (the agency's one serialised statement), then the writes
    (row, history, audit event, index, outbox) are queued with a placeholder for the reference,
    which is claimed right before they are sent in one round trip with the caller's next
    statement or at the end (``apps.core.batching``). The returned application carries its
    documents and history (with the new entry), so the answer needs no further read.
    """
    with pipelined_writes():
        application = _transition(
            application_id=application_id,
            action=action,
            actor=actor,
            role=role,
            reason=reason,
            assignee_id=assignee_id,
            if_match=if_match,
            form_data=form_data,
        )
    # Sent (when this block was the outermost): the reference's placeholder has its value.
    application.reference = resolved(application.reference)
    return application


def _transition(
    *,
    application_id: UUID,
    action: str,
    actor: User,
    role: str,
    reason: str | None,
    assignee_id: UUID | None,
    if_match: str | None,
    form_data: dict[str, Any] | None,
) -> Application:
    transition = transition_get(action)
    if transition is None:
        raise ValueError(f"unknown transition {action!r}")
    application = application_lock(
        application_id=application_id, actor=actor, role=role, with_details=action == "submit"
    )
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
    target = transition_target(
        transition,
        fee_due=transition.target_when_fee_due is not None and fee_is_due(application),
    )
    clock_apply(application, target=target, now=now)
    if target is not None:
        application.status = target
    if target == Status.AWAITING_PAYMENT:
        application.due_at = None  # the agency's deadline starts once the fee is settled
    application.version += 1
    application.updated_at = now
    prepared = application_event_prepare(application=application, event=transition.event)
    if transition.action == "submit":
        # Claimed when the writes are sent (``apps.core.batching.late_value``): the counter's
        # row is locked for the claim, one round trip of writes and the commit, nothing more.
        application.reference = late_value(lambda: reference_claim(at=now))
    with deferred():
        Application.objects.filter(pk=application.pk).update(
            **{field: getattr(application, field) for field in SAVED_FIELDS}
        )

    entry = HistoryEntry.objects.create(
        application=application,
        action=transition.action,
        from_status=from_status,
        to_status=application.status,
        actor_id=actor.pk,
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
    application_event_dispatch(
        application=application, event=transition.event, actor_id=actor.pk, prepared=prepared
    )
    cached = getattr(application, "_prefetched_objects_cache", {}).get("history")
    if cached is not None and cached._result_cache is not None:
        cached._result_cache.append(entry)
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
