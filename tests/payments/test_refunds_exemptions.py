"""Refunds (agency policy, provider disbursement, told by SMS, partner webhooks) and fee
exemptions granted by supervisors."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.accounts.services import partner_client_create
from apps.accounts.tokens import TokenKind
from apps.applications import services as application_services
from apps.applications.models import Application, HistoryEntry
from apps.applications.workflow import Actor, Status
from apps.audit.models import AuditEvent
from apps.outbox.models import OutboxMessage
from apps.payments.models import FeeExemption, Payment, PaymentStatus, Refund, RefundStatus
from apps.payments.services import payments_reconcile, refund_process
from apps.webhooks.services import subscription_create
from tests.conftest import HOST_A
from tests.payments.conftest import awaiting, body_of, collect_online, payment_of

pytestmark = pytest.mark.django_db


def _paid(agency, citizen, pay, simulator, deliver) -> Application:
    application = awaiting(agency.schema_name, citizen)
    pay(citizen, application)
    simulator.confirm(payment_of(agency.schema_name, application).identifier)
    deliver(simulator)
    return application


def _reject(agency, application, staff) -> None:
    with schema_context(agency.schema_name):
        app = application_services.application_transition(
            application_id=application.pk,
            action="take",
            actor=staff,
            role=Role.AGENT,
            if_match=Application.objects.get(pk=application.pk).etag,
        )
        application_services.application_transition(
            application_id=app.pk,
            action="reject",
            actor=staff,
            role=Role.AGENT,
            reason="Pièce manquante",
            if_match=app.etag,
        )


def test_a_rejected_paid_application_is_refunded_through_the_provider(
    agency_a, setup_a, citizen, simulator, pay, deliver, staff_of
):
    with schema_context(agency_a.schema_name):
        client, _secret = partner_client_create(
            name="Banque", grants={agency_a: ["applications:read"]}
        )
        subscription_create(
            partner_client_id=client.pk,
            url="http://127.0.0.1:9799/hook",
            events=["payment.succeeded", "payment.refunded"],
        )
    application = _paid(agency_a, citizen, pay, simulator, deliver)

    _reject(agency_a, application, staff_of(agency_a, Role.AGENT))

    with schema_context(agency_a.schema_name):
        refund = Refund.objects.get()
        assert (refund.reason, refund.status) == ("rejected", RefundStatus.PENDING)
        refund = refund_process(refund_id=refund.pk)
        assert refund.status == RefundStatus.SUCCEEDED
        payment = Payment.objects.get()
        assert payment.status == PaymentStatus.REFUNDED
        assert refund_process(refund_id=refund.pk).status == RefundStatus.SUCCEEDED  # idempotent
        events = list(
            OutboxMessage.objects.filter(kind="webhook").values_list("payload__event", flat=True)
        )
        assert sorted(events) == ["payment.refunded", "payment.succeeded"]
        assert OutboxMessage.objects.filter(
            kind="notification", payload__template="payment_refunded", payload__channel="sms"
        ).exists()
        actions = set(AuditEvent.objects.values_list("action", flat=True))
        assert {"payment.refund_requested", "payment.refunded"} <= actions
    assert len(simulator.disbursements) == 1
    [disbursement] = simulator.disbursements.values()
    assert disbursement["amount"] == payment.amount_xof
    assert disbursement["phone"] == payment.phone


def test_a_disbursement_timeout_is_checked_never_sent_twice(
    agency_a, setup_a, citizen, simulator, pay, deliver, staff_of
):
    application = _paid(agency_a, citizen, pay, simulator, deliver)
    _reject(agency_a, application, staff_of(agency_a, Role.AGENT))
    simulator.behaviour.update({"disburse_fault": "timeout", "disburse_fault_times": 1})

    with schema_context(agency_a.schema_name):
        refund = refund_process(refund_id=Refund.objects.get().pk)
        assert refund.status == RefundStatus.UNKNOWN
        payments_reconcile()
        refund.refresh_from_db()
        assert refund.status == RefundStatus.SUCCEEDED
    assert simulator.requests["/api/v1/disburse"] == 1
    assert simulator.requests["/api/v1/disburse/status"] == 1


def test_withdrawal_follows_the_agency_policy(
    agency_a, setup_a, citizen, other_citizen, simulator, pay, deliver
):
    collect_online(agency_a.schema_name, refund_on_withdrawal=False)
    application = _paid(agency_a, citizen, pay, simulator, deliver)
    with schema_context(agency_a.schema_name):
        application_services.application_transition(
            application_id=application.pk, action="withdraw", actor=citizen, role=Actor.CITIZEN
        )
        assert not Refund.objects.exists()

    collect_online(agency_a.schema_name, refund_on_withdrawal=True)
    second = _paid(agency_a, other_citizen, pay, simulator, deliver)
    with schema_context(agency_a.schema_name):
        application_services.application_transition(
            application_id=second.pk, action="withdraw", actor=other_citizen, role=Actor.CITIZEN
        )
        assert Refund.objects.get().reason == "withdrawn"


def test_a_payment_confirmed_after_withdrawal_is_refunded(
    agency_a, setup_a, citizen, simulator, pay, deliver
):
    application = awaiting(agency_a.schema_name, citizen)
    pay(citizen, application)
    with schema_context(agency_a.schema_name):
        application_services.application_transition(
            application_id=application.pk, action="withdraw", actor=citizen, role=Actor.CITIZEN
        )
    simulator.confirm(payment_of(agency_a.schema_name, application).identifier)
    deliver(simulator)

    with schema_context(agency_a.schema_name):
        assert Payment.objects.get().status == PaymentStatus.SUCCEEDED
        assert Refund.objects.get().reason == "not_owed"
        assert Application.objects.get(pk=application.pk).status == Status.WITHDRAWN


def test_a_supervisor_exempts_the_fee_with_a_reason(
    agency_a, setup_a, citizen, exemption_category, api, tokens, staff_of
):
    application = awaiting(agency_a.schema_name, citizen)
    url = f"/api/v1/staff/applications/{application.id}/fee-exemption/"
    body = {"category": "indigence", "reason": "Certificat d'indigence présenté au guichet"}
    agent = staff_of(agency_a, Role.AGENT)
    supervisor = staff_of(agency_a, Role.SUPERVISOR)
    as_agent = api(HOST_A, tokens(agent, TokenKind.STAFF, agency=agency_a, role=Role.AGENT).access)
    as_supervisor = api(
        HOST_A, tokens(supervisor, TokenKind.STAFF, agency=agency_a, role=Role.SUPERVISOR).access
    )

    assert (
        as_agent.post(url, body, format="json", HTTP_IF_MATCH=application.etag).status_code == 403
    )
    assert as_supervisor.post(url, body, format="json").status_code == 428
    unknown = as_supervisor.post(
        url, {**body, "category": "nope"}, format="json", HTTP_IF_MATCH=application.etag
    )
    assert unknown.status_code == 400
    assert body_of(unknown)["code"] == "exemption_category_unknown"
    granted = as_supervisor.post(url, body, format="json", HTTP_IF_MATCH=application.etag)

    assert granted.status_code == 200, granted.content
    assert body_of(granted)["status"] == "submitted"
    with schema_context(agency_a.schema_name):
        exemption = FeeExemption.objects.get()
        assert exemption.granted_by_id == supervisor.pk
        assert exemption.category.code == "indigence"
        assert HistoryEntry.objects.filter(action="exempt_fee", reason=body["reason"]).exists()
        assert AuditEvent.objects.filter(action="payment.fee_exempted").exists()
        assert Application.objects.get(pk=application.pk).due_at is not None
    again = as_supervisor.post(url, body, format="json", HTTP_IF_MATCH=granted["ETag"])
    assert again.status_code == 409


def test_staff_see_the_payments_of_an_application(
    agency_a, setup_a, citizen, simulator, pay, api, tokens, staff_of
):
    application = awaiting(agency_a.schema_name, citizen)
    pay(citizen, application)
    agent = staff_of(agency_a, Role.AGENT)
    client = api(HOST_A, tokens(agent, TokenKind.STAFF, agency=agency_a, role=Role.AGENT).access)

    listing = client.get(f"/api/v1/staff/applications/{application.id}/payments/")

    assert listing.status_code == 200
    assert [p["status"] for p in listing.json()["results"]] == ["pending"]
