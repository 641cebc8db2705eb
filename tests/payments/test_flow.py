"""The payment of a fee end to end, against the aggregator simulator over real HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.applications.models import Application, HistoryEntry
from apps.applications.workflow import Status
from apps.audit.models import AuditEvent
from apps.outbox.models import OutboxMessage
from apps.payments.models import Payment, PaymentStatus
from apps.payments.services import payments_reconcile
from tests.conftest import HOST_A
from tests.payments.conftest import FEE, awaiting, body_of, payment_of

pytestmark = pytest.mark.django_db


def test_submission_waits_for_the_fee_then_payment_hands_it_to_the_agency(
    agency_a, setup_a, citizen, simulator, pay, deliver, api, tokens
):
    application = awaiting(agency_a.schema_name, citizen)
    assert application.status == Status.AWAITING_PAYMENT
    assert application.reference
    assert application.due_at is None

    response = pay(citizen, application)

    assert response.status_code == 202, response.content
    body = body_of(response)
    assert body["status"] == "pending"
    assert body["amount_xof"] == FEE
    assert body["phone"].endswith("56")
    assert "90123456" not in body["phone"]
    assert simulator.requests["/api/v1/pay"] == 1
    identifier = body["identifier"]
    assert simulator.payments[identifier].amount == FEE

    assert simulator.confirm(identifier)
    [answer] = deliver(simulator)

    assert answer.status_code == 200, answer.content
    assert body_of(answer) == {"identifier": identifier, "status": "succeeded"}
    with schema_context(agency_a.schema_name):
        payment = Payment.objects.get(identifier=identifier)
        assert payment.status == PaymentStatus.SUCCEEDED
        assert payment.paid_at is not None
        assert payment.payment_reference == simulator.payments[identifier].payment_reference
        application.refresh_from_db()
        assert application.status == Status.SUBMITTED
        assert application.due_at is not None
        assert HistoryEntry.objects.filter(
            application=application, action="confirm_payment", actor_role="system"
        ).exists()
        actions = list(AuditEvent.objects.values_list("action", flat=True))
        assert actions.count("payment.succeeded") == 1
        assert "application.payment_confirmed" in actions
        sms = OutboxMessage.objects.filter(
            kind="notification", payload__template="payment_received"
        ).get(payload__channel="sms")
        assert sms.payload["payment_id"] == str(payment.pk)

    # The citizen's account lists the payment with its receipt.
    client = api(HOST_A, tokens(citizen).access)
    listing = client.get("/api/v1/payments/")
    assert listing.status_code == 200
    [item] = listing.json()["results"]
    assert item["status"] == "succeeded"
    assert item["receipt_url"].startswith("http://agence-a.")
    receipt = client.get(f"/api/v1/payments/{payment.pk}/receipt/")
    assert receipt.status_code == 200
    assert receipt.content.startswith(b"%PDF")
    link = item["receipt_url"].split("agence-a.localhost", 1)[1]
    public = api(HOST_A).get(link)
    assert public.status_code == 200
    assert public.content.startswith(b"%PDF")


def test_a_free_service_or_an_agency_paid_at_the_counter_goes_straight_to_review(
    agency_a, citizen, db
):
    from tests.payments.conftest import fee_service

    fee_service(agency_a.schema_name)  # policy not set: fees are paid at the counter
    application = awaiting(agency_a.schema_name, citizen)
    assert application.status == Status.SUBMITTED
    assert application.due_at is not None


def test_the_idempotency_key_replays_and_never_charges_twice(
    agency_a, setup_a, citizen, simulator, pay
):
    application = awaiting(agency_a.schema_name, citizen)
    first = pay(citizen, application, key="same")
    again = pay(citizen, application, key="same")
    other_body = pay(
        citizen, application, key="same", body={"network": "flooz", "phone": "+22899000000"}
    )

    assert first.status_code == again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    assert body_of(again)["id"] == body_of(first)["id"]
    assert other_body.status_code == 422
    assert simulator.requests["/api/v1/pay"] == 1
    with schema_context(agency_a.schema_name):
        assert Payment.objects.count() == 1


def test_a_second_attempt_while_one_waits_or_after_payment_is_refused(
    agency_a, setup_a, citizen, simulator, pay, deliver
):
    application = awaiting(agency_a.schema_name, citizen)
    pay(citizen, application, key="k1")
    while_pending = pay(citizen, application, key="k2")
    assert while_pending.status_code == 409
    assert body_of(while_pending)["code"] == "payment_in_progress"

    simulator.confirm(payment_of(agency_a.schema_name, application).identifier)
    deliver(simulator)
    after_paid = pay(citizen, application, key="k3")

    assert after_paid.status_code == 409
    assert body_of(after_paid)["code"] == "payment_not_due"
    assert simulator.requests["/api/v1/pay"] == 1


def test_the_database_allows_one_paid_attempt_per_application(agency_a, setup_a, citizen):
    application = awaiting(agency_a.schema_name, citizen)
    with schema_context(agency_a.schema_name):
        fields = {
            "application": application,
            "citizen": citizen,
            "provider": "mobile_money",
            "network": "tmoney",
            "phone": "+22890123456",
            "amount_xof": FEE,
            "status": PaymentStatus.SUCCEEDED,
            "paid_at": timezone.now(),
            "expires_at": timezone.now(),
        }
        Payment.objects.create(identifier="GCH-one", **fields)
        with pytest.raises(IntegrityError), transaction.atomic():
            Payment.objects.create(identifier="GCH-two", **fields)


def test_a_cancelled_payment_lets_the_citizen_try_again(
    agency_a, setup_a, citizen, simulator, pay, deliver
):
    application = awaiting(agency_a.schema_name, citizen)
    pay(citizen, application, key="k1")
    simulator.confirm(payment_of(agency_a.schema_name, application).identifier, "cancelled")
    [answer] = deliver(simulator)
    assert body_of(answer)["status"] == "cancelled"

    retry = pay(citizen, application, key="k2")

    assert retry.status_code == 202
    with schema_context(agency_a.schema_name):
        assert Application.objects.get(pk=application.pk).status == Status.AWAITING_PAYMENT
        assert sorted(Payment.objects.values_list("status", flat=True)) == [
            "cancelled",
            "pending",
        ]


def test_reconciliation_expires_abandoned_and_provider_expired_payments(
    agency_a, setup_a, citizen, other_citizen, simulator, pay
):
    first = awaiting(agency_a.schema_name, citizen)
    second = awaiting(agency_a.schema_name, other_citizen)
    pay(citizen, first, key="a")
    pay(other_citizen, second, key="b")
    with schema_context(agency_a.schema_name):
        abandoned = Payment.objects.get(application=first)
        Payment.objects.filter(pk=abandoned.pk).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
        expired = Payment.objects.get(application=second)
    simulator.confirm(expired.identifier, "expired")

    with schema_context(agency_a.schema_name):
        assert payments_reconcile() == {"payments": 2, "refunds": 0}
        abandoned.refresh_from_db()
        expired.refresh_from_db()
        assert (abandoned.status, abandoned.failure_reason) == ("expired", "abandoned")
        assert (expired.status, expired.failure_reason) == ("expired", "provider_expired")
        assert payments_reconcile() == {"payments": 0, "refunds": 0}  # final: left alone


def test_in_worker_mode_the_callback_is_answered_at_once_and_a_task_settles(
    agency_a, setup_a, citizen, simulator, pay, deliver, settings
):
    from config.celery import app

    settings.PAYMENTS_CALLBACK_SETTLE = "worker"
    application = awaiting(agency_a.schema_name, citizen)
    pay(citizen, application)
    identifier = payment_of(agency_a.schema_name, application).identifier
    simulator.confirm(identifier)
    emitted = list(simulator.callbacks)

    [answer] = deliver(simulator)  # no worker ran: answered, nothing settled yet
    assert body_of(answer) == {"identifier": identifier, "status": "pending"}
    assert simulator.requests.get("/api/v2/status", 0) == 0

    app.conf.task_always_eager = True
    try:
        simulator.callbacks.extend(emitted)
        [again] = deliver(simulator)  # the task runs in this thread, as a worker would
    finally:
        app.conf.task_always_eager = False

    assert again.status_code == 200
    assert payment_of(agency_a.schema_name, application).status == PaymentStatus.SUCCEEDED
    with schema_context(agency_a.schema_name):
        assert Application.objects.get(pk=application.pk).status == Status.SUBMITTED


def test_the_payments_list_has_a_query_budget(
    agency_a, setup_a, citizen, simulator, pay, api, tokens, django_assert_max_num_queries
):
    for index in range(3):
        application = awaiting(agency_a.schema_name, citizen)
        pay(citizen, application, key=f"budget-{index}")
    client = api(HOST_A, tokens(citizen).access)

    with django_assert_max_num_queries(8):
        listing = client.get("/api/v1/payments/")

    assert listing.status_code == 200
    assert listing.json()["count"] == 3
