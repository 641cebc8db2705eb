"""What each workflow event queues: citizen and agent notifications, webhooks, the certificate.

``application_event_dispatch`` is what ``application_transition`` calls inside its transaction;
these tests call it on applications in the matching state.
"""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.notifications.dispatch import application_event_dispatch
from apps.outbox.models import OutboxMessage
from apps.webhooks.services import subscription_create
from tests.outbox.builders import in_state

pytestmark = pytest.mark.django_db


def _queued(schema: str = "agence_a") -> list[tuple[str, str]]:
    """(kind, template / event / job) of every queued message, oldest first."""
    with schema_context(schema):
        # Every transition also queues its real-time event (tests/realtime covers those).
        rows = OutboxMessage.objects.exclude(kind="realtime").order_by("created_at")
        return [
            (
                row.kind,
                row.payload.get("template")
                or row.payload.get("event")
                or row.payload.get("job", ""),
            )
            for row in rows
        ]


def _dispatch(application, event: str, actor_id=None) -> None:
    with schema_context("agence_a"):
        OutboxMessage.objects.all().delete()
        application.refresh_from_db()
        application_event_dispatch(application=application, event=event, actor_id=actor_id)


@pytest.fixture
def subscribed(agency_a):
    from apps.accounts.services import partner_client_create

    client, _ = partner_client_create(name="Banque", grants={agency_a: ["webhooks:manage"]})
    with schema_context("agence_a"):
        subscription_create(
            partner_client_id=client.pk,
            url="http://127.0.0.1:9/hook",
            events=["application.submitted", "application.decided", "certificate.issued"],
        )
    return client


@pytest.fixture
def agent(agency_a, staff_of):
    return staff_of(agency_a, Role.AGENT)


def test_submission_notifies_the_citizen_and_partners(agency_a, citizen, agent, subscribed):
    application = in_state("agence_a", citizen, agent, "submitted")
    _dispatch(application, "application.submitted")

    assert _queued() == [
        ("notification", "application_submitted"),
        ("notification", "application_submitted"),
        ("webhook", "application.submitted"),
    ]
    with schema_context("agence_a"):
        webhook = OutboxMessage.objects.get(kind="webhook")
    assert webhook.payload["data"] == {
        "application_id": str(application.pk),
        "reference": application.reference,
        "status": "submitted",
        "service_code": "extrait-casier",
    }


def test_information_request_notifies_the_citizen_only(agency_a, citizen, agent, subscribed):
    application = in_state("agence_a", citizen, agent, "info_requested")
    _dispatch(application, "application.info_requested")

    assert _queued() == [
        ("notification", "application_info_requested"),
        ("notification", "application_info_requested"),
    ]


def test_approval_notifies_emits_the_decision_and_queues_the_certificate(
    agency_a, citizen, agent, subscribed
):
    application = in_state("agence_a", citizen, agent, "approved")
    _dispatch(application, "application.approved")

    assert _queued() == [
        ("notification", "application_approved"),
        ("notification", "application_approved"),
        ("webhook", "application.decided"),
        ("document", "certificate.issue"),
    ]


def test_rejection_notifies_and_emits_the_decision(agency_a, citizen, agent, subscribed):
    application = in_state("agence_a", citizen, agent, "rejected")
    _dispatch(application, "application.rejected")

    assert _queued() == [
        ("notification", "application_rejected"),
        ("notification", "application_rejected"),
        ("webhook", "application.decided"),
    ]


def test_assignment_by_a_supervisor_notifies_the_assignee(agency_a, citizen, agent, staff_of):
    supervisor = staff_of(agency_a, Role.SUPERVISOR)
    application = in_state("agence_a", citizen, agent, "in_review")
    _dispatch(application, "application.reassigned", actor_id=supervisor.pk)

    with schema_context("agence_a"):
        rows = list(OutboxMessage.objects.exclude(kind="realtime"))
    assert {row.payload["template"] for row in rows} == {"application_assigned"}
    assert {row.payload["recipient_id"] for row in rows} == {str(agent.pk)}


def test_taking_an_application_yourself_notifies_nobody(agency_a, citizen, agent):
    application = in_state("agence_a", citizen, agent, "in_review")
    _dispatch(application, "application.taken", actor_id=agent.pk)
    assert _queued() == []
    _dispatch(application, "application.assigned", actor_id=agent.pk)
    assert _queued() == []
