"""What follows a transition of an application, written to the outbox in its transaction.

``application_event_dispatch`` is called by ``application_transition`` (and nowhere else): it
turns the workflow's audit event into notifications (citizen and agents), partner webhook
events, the certificate job and the real-time event. Everything is an outbox row of the same
transaction, so it happens if and only if the transition commits, even when the broker is down
at that moment.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from apps.notifications.rendering import Template
from apps.notifications.services import notification_enqueue

# Audit event of the transition -> notification template for the citizen.
CITIZEN_TEMPLATES = {
    "application.submitted": Template.APPLICATION_SUBMITTED,
    "application.info_requested": Template.APPLICATION_INFO_REQUESTED,
    "application.approved": Template.APPLICATION_APPROVED,
    "application.rejected": Template.APPLICATION_REJECTED,
}
# Transitions that give the application to someone who did not take it themselves.
ASSIGNMENT_EVENTS = frozenset({"application.assigned", "application.reassigned"})
# Audit event -> partner webhook event.
WEBHOOK_EVENTS = {
    "application.submitted": "application.submitted",
    "application.approved": "application.decided",
    "application.rejected": "application.decided",
}


def application_event_prepare(*, application: Any, event: str) -> dict[str, Any]:
    """The reads ``application_event_dispatch`` needs, done before the transition's writes.

    The citizen's contacts (from ``application.citizen`` when it was loaded with the row) and
    the active webhook subscriptions to the event: so a submit reads everything before it
    claims its reference, and the writes go in one round trip after it.
    """
    from apps.webhooks.services import webhook_subscriptions_for

    prepared: dict[str, Any] = {}
    citizen = application._state.fields_cache.get("citizen")
    if citizen is not None and event in CITIZEN_TEMPLATES:
        prepared["citizen"] = (
            {"phone": citizen.phone, "email": citizen.email} if citizen.is_active else None
        )
    webhook_event = WEBHOOK_EVENTS.get(event)
    if webhook_event is not None:
        prepared["subscriptions"] = webhook_subscriptions_for(webhook_event)
    return prepared


def application_event_dispatch(
    *,
    application: Any,
    event: str,
    actor_id: UUID | None = None,
    prepared: dict[str, Any] | None = None,
) -> None:
    """Queue the follow-up work of ``event`` (an ``application.*`` audit action).

    ``application`` is the application as saved by the transition (status, reference and
    assignee up to date); ``actor_id`` is who made the transition (never notified of their own
    assignment).
    """
    from apps.certificates.services import certificate_job_enqueue
    from apps.payments.services import payments_on_application_event
    from apps.realtime.services import realtime_application_event
    from apps.webhooks.services import webhook_event_emit

    template = CITIZEN_TEMPLATES.get(event)
    if template is not None:
        notification_enqueue(
            recipient_id=application.citizen_id,
            template=template,
            application_id=application.pk,
            **({"person": prepared["citizen"]} if prepared and "citizen" in prepared else {}),
        )
    if (
        event in ASSIGNMENT_EVENTS
        and application.assignee_id is not None
        and application.assignee_id != actor_id
    ):
        notification_enqueue(
            recipient_id=application.assignee_id,
            template=Template.APPLICATION_ASSIGNED,
            application_id=application.pk,
        )
    webhook_event = WEBHOOK_EVENTS.get(event)
    if webhook_event is not None:
        webhook_event_emit(
            event=webhook_event,
            data={
                "application_id": str(application.pk),
                "reference": application.reference or "",
                "status": application.status,
                "service_code": application.service.code,
            },
            **(
                {"subscriptions": prepared["subscriptions"]}
                if prepared and "subscriptions" in prepared
                else {}
            ),
        )
    if event == "application.approved":
        certificate_job_enqueue(application_id=application.pk)
    # Refunds of a paid fee when the application is rejected or withdrawn (agency policy).
    payments_on_application_event(application=application, event=event)
    # Citizens' and agents' live views (WebSocket / SSE): apps.realtime.
    realtime_application_event(application=application, event=event, actor_id=actor_id)
