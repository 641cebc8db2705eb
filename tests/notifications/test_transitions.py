"""The workflow writes its follow-ups to the outbox in the transition's own transaction."""

from __future__ import annotations

import time
import uuid

import pytest
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind
from apps.applications import services as application_services
from apps.applications.errors import ReasonRequired
from apps.applications.models import Application
from apps.certificates.models import Certificate
from apps.outbox.models import OutboxMessage, Status
from apps.outbox.services import outbox_process
from apps.webhooks.models import WebhookDelivery
from apps.webhooks.services import subscription_create
from tests.conftest import HOST_A
from tests.outbox.builders import SERVICE_CODE, advance, http_receiver, in_state, simple_service
from tests.webhooks.conftest import make_partner

pytestmark = pytest.mark.django_db


def _rows(schema: str = "agence_a") -> list[OutboxMessage]:
    with schema_context(schema):
        # Real-time events ride the outbox too (tests/realtime covers them).
        return list(OutboxMessage.objects.exclude(kind="realtime").order_by("created_at"))


def _summary(rows: list[OutboxMessage]) -> list[tuple[str, str]]:
    return [
        (r.kind, r.payload.get("template") or r.payload.get("event") or r.payload.get("job"))
        for r in rows
    ]


@pytest.fixture
def agent(agency_a, staff_of):
    return staff_of(agency_a, Role.AGENT)


def test_each_step_of_the_workflow_queues_its_notices(agency_a, citizen, agent):
    application = in_state("agence_a", citizen, agent, "approved")

    assert _summary(_rows()) == [
        ("notification", "application_submitted"),
        ("notification", "application_submitted"),
        ("notification", "application_approved"),
        ("notification", "application_approved"),
        ("document", "certificate.issue"),
    ]
    assert {r.payload.get("application_id") for r in _rows()} == {str(application.pk)}


def test_a_refused_transition_queues_nothing(agency_a, citizen, agent):
    application = in_state("agence_a", citizen, agent, "in_review")
    before = len(_rows())

    with pytest.raises(ReasonRequired):
        advance("agence_a", application.pk, "reject", agent, Role.AGENT, reason="")

    assert len(_rows()) == before


def test_the_assignee_named_by_a_supervisor_is_told(agency_a, citizen, agent, staff_of):
    supervisor = staff_of(agency_a, Role.SUPERVISOR)
    simple_service("agence_a")
    with schema_context("agence_a"):
        draft = application_services.application_create(
            citizen=citizen, service_code=SERVICE_CODE, form_data={}
        )
        application_services.application_submit(application_id=draft.id, citizen=citizen)
        OutboxMessage.objects.all().delete()
    advance("agence_a", draft.id, "assign", supervisor, Role.SUPERVISOR, assignee_id=agent.pk)

    rows = _rows()
    assert _summary(rows) == [("notification", "application_assigned")]
    assert rows[0].payload["recipient_id"] == str(agent.pk)


def test_approval_ends_with_a_stored_certificate_and_the_citizens_notice(
    agency_a, citizen, agent, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)
    application = in_state("agence_a", citizen, agent, "approved")
    with schema_context("agence_a"):
        [job] = OutboxMessage.objects.filter(kind="document")

        assert outbox_process(message_id=job.pk).status == Status.SENT

        certificate = Certificate.objects.get(application_id=application.pk)
        notices = OutboxMessage.objects.filter(payload__template="certificate_issued")
        assert notices.count() == 2
    assert (tmp_path / certificate.file_path).exists()


def test_a_hanging_partner_never_slows_a_submission(
    api, tokens, agency_a, citizen, django_capture_on_commit_callbacks, published, settings
):
    settings.WEBHOOK_READ_TIMEOUT = 0.5
    partner = make_partner(agency_a, ["webhooks:manage"])
    simple_service("agence_a")
    with http_receiver(status=200, hang=5) as hanging:
        with schema_context("agence_a"):
            subscription_create(
                partner_client_id=partner.client.pk,
                url=hanging.url,
                events=["application.submitted"],
            )
            draft = application_services.application_create(
                citizen=citizen, service_code=SERVICE_CODE, form_data={}
            )
        client = api(HOST_A, tokens(citizen).access)

        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/api/v1/applications/{draft.id}/submit/",
                format="json",
                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
            )
        elapsed = time.monotonic() - started

        assert response.status_code == 200, response.content
        assert elapsed < 2.0  # the request only wrote rows and handed them to the broker
        assert hanging.requests == []  # nothing was sent from the request
        [webhook] = [r for r in _rows() if r.kind == "webhook"]
        assert webhook.pk in published.ids  # relayed after commit

        # The worker's attempt times out, is logged and scheduled again.
        with schema_context("agence_a"):
            outcome = outbox_process(message_id=webhook.pk)
            delivery = WebhookDelivery.objects.get()
    assert outcome.status == Status.PENDING
    assert "timeout" in delivery.error


def test_staff_decisions_through_the_api_queue_the_decision_event(
    api, tokens, agency_a, citizen, agent
):
    partner = make_partner(agency_a, ["webhooks:manage"])
    with schema_context("agence_a"):
        subscription_create(
            partner_client_id=partner.client.pk,
            url="http://127.0.0.1:9/hook",
            events=["application.decided"],
        )
    application = in_state("agence_a", citizen, agent, "in_review")
    with schema_context("agence_a"):
        etag = Application.objects.get(pk=application.pk).etag
    client = api(HOST_A, tokens(agent, TokenKind.STAFF, agency=agency_a, role=Role.AGENT).access)

    response = client.post(
        f"/api/v1/staff/applications/{application.pk}/reject/",
        {"reason": "Pièce manquante"},
        format="json",
        HTTP_IF_MATCH=etag,
    )

    assert response.status_code == 200, response.content
    [webhook] = [r for r in _rows() if r.kind == "webhook"]
    assert webhook.payload["event"] == "application.decided"
    assert webhook.payload["data"]["status"] == "rejected"
