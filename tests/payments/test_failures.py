"""Correct under every failure: timeouts, 5xx, lost, duplicate, late and out-of-order callbacks,
wrong amounts. A timeout is "unknown", resolved by a status check, never by a second request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.applications.models import Application
from apps.applications.workflow import Status
from apps.audit.models import AuditEvent
from apps.payments.models import Payment, PaymentStatus
from apps.payments.services import payment_check, payments_reconcile
from tests.payments.conftest import awaiting, body_of, payment_of

pytestmark = pytest.mark.django_db


def _reconcile(schema: str) -> dict[str, int]:
    with schema_context(schema):
        return payments_reconcile()


def _status(schema: str, application: Application) -> tuple[str, str]:
    payment = payment_of(schema, application)
    with schema_context(schema):
        current = Application.objects.get(pk=application.pk).status
    return payment.status, current


def test_a_timeout_on_initiation_is_unknown_then_resolved_by_a_status_check(
    agency_a, setup_a, citizen, simulator, pay
):
    simulator.behaviour.update({"pay_fault": "timeout", "pay_fault_times": 1})
    application = awaiting(agency_a.schema_name, citizen)

    response = pay(citizen, application)

    assert response.status_code == 202
    payment = payment_of(agency_a.schema_name, application)
    assert payment.status == PaymentStatus.UNKNOWN
    assert payment.identifier in simulator.payments  # the provider took it: the answer was lost

    _reconcile(agency_a.schema_name)
    assert _status(agency_a.schema_name, application) == ("pending", Status.AWAITING_PAYMENT)
    simulator.confirm(payment.identifier)  # the callback is lost this time (not delivered)
    _reconcile(agency_a.schema_name)

    assert _status(agency_a.schema_name, application) == ("succeeded", Status.SUBMITTED)
    assert simulator.requests["/api/v1/pay"] == 1  # never sent twice


def test_a_5xx_before_registration_expires_the_attempt_after_the_grace_period(
    agency_a, setup_a, citizen, simulator, pay
):
    simulator.behaviour.update({"pay_fault": "5xx", "pay_fault_times": 1})
    application = awaiting(agency_a.schema_name, citizen)
    pay(citizen, application)
    payment = payment_of(agency_a.schema_name, application)
    assert payment.status == PaymentStatus.UNKNOWN
    assert payment.identifier not in simulator.payments

    _reconcile(agency_a.schema_name)  # not found, but it may still be arriving: wait
    assert payment_of(agency_a.schema_name, application).status == PaymentStatus.UNKNOWN
    with schema_context(agency_a.schema_name):
        Payment.objects.filter(pk=payment.pk).update(
            created_at=timezone.now() - timedelta(minutes=5)
        )
    _reconcile(agency_a.schema_name)

    final = payment_of(agency_a.schema_name, application)
    assert (final.status, final.failure_reason) == ("expired", "never_registered")
    assert simulator.requests["/api/v1/pay"] == 1


def test_a_5xx_after_registration_is_found_by_the_status_check(
    agency_a, setup_a, citizen, simulator, pay
):
    simulator.behaviour.update({"pay_fault": "5xx_after", "pay_fault_times": 1})
    application = awaiting(agency_a.schema_name, citizen)
    pay(citizen, application)
    payment = payment_of(agency_a.schema_name, application)
    simulator.confirm(payment.identifier)

    _reconcile(agency_a.schema_name)

    assert _status(agency_a.schema_name, application) == ("succeeded", Status.SUBMITTED)


def test_an_unreachable_provider_fails_the_attempt_without_charging(
    agency_a, setup_a, citizen, simulator, pay, settings
):
    settings.PAYMENTS_AGGREGATOR_URL = "http://127.0.0.1:9"  # nothing listens: refused
    application = awaiting(agency_a.schema_name, citizen)
    pay(citizen, application)
    payment = payment_of(agency_a.schema_name, application)
    assert (payment.status, payment.failure_reason) == ("failed", "provider_unreachable")


def test_a_status_check_that_times_out_changes_nothing(
    agency_a, setup_a, citizen, simulator, pay, deliver
):
    application = awaiting(agency_a.schema_name, citizen)
    pay(citizen, application)
    payment = payment_of(agency_a.schema_name, application)
    simulator.confirm(payment.identifier)
    simulator.behaviour.update({"status_fault": "timeout", "status_fault_times": 1})

    [answer] = deliver(simulator)

    assert answer.status_code == 200
    assert body_of(answer)["status"] == "pending"
    assert _status(agency_a.schema_name, application) == ("pending", Status.AWAITING_PAYMENT)
    _reconcile(agency_a.schema_name)
    assert _status(agency_a.schema_name, application) == ("succeeded", Status.SUBMITTED)


def test_duplicate_and_late_callbacks_change_nothing(
    agency_a, setup_a, citizen, simulator, pay, deliver
):
    simulator.behaviour["callback"] = "duplicate"
    application = awaiting(agency_a.schema_name, citizen)
    pay(citizen, application)
    payment = payment_of(agency_a.schema_name, application)
    simulator.confirm(payment.identifier)
    emitted = list(simulator.callbacks)

    answers = deliver(simulator)
    simulator.callbacks.extend(emitted)  # the same callbacks, arriving late, again
    late = deliver(simulator)

    assert [a.status_code for a in answers + late] == [200, 200, 200, 200]
    assert {body_of(a)["status"] for a in answers + late} == {"succeeded"}
    with schema_context(agency_a.schema_name):
        assert AuditEvent.objects.filter(action="payment.succeeded").count() == 1
        assert AuditEvent.objects.filter(action="application.payment_confirmed").count() == 1
        assert Payment.objects.get(pk=payment.pk).checks == 1  # final: not even asked again


def test_an_out_of_order_callback_cannot_undo_a_payment(
    agency_a, setup_a, citizen, simulator, pay, deliver
):
    application = awaiting(agency_a.schema_name, citizen)
    pay(citizen, application)
    payment = payment_of(agency_a.schema_name, application)
    simulator.confirm(payment.identifier)
    deliver(simulator)
    # An older "pending/cancelled" notice arriving after the success (signed, so authentic).
    simulator.payments[payment.identifier].status = "cancelled"
    simulator._emit(simulator.payments[payment.identifier], False)

    [answer] = deliver(simulator)

    assert answer.status_code == 200
    assert body_of(answer)["status"] == "succeeded"
    assert _status(agency_a.schema_name, application) == ("succeeded", Status.SUBMITTED)


def test_a_late_success_after_local_expiry_is_still_honoured(
    agency_a, setup_a, citizen, simulator, pay, deliver
):
    simulator.behaviour["callback"] = "late"
    simulator.behaviour["callback_delay"] = 0.05
    application = awaiting(agency_a.schema_name, citizen)
    pay(citizen, application)
    payment = payment_of(agency_a.schema_name, application)
    with schema_context(agency_a.schema_name):
        Payment.objects.filter(pk=payment.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    _reconcile(agency_a.schema_name)
    assert payment_of(agency_a.schema_name, application).status == PaymentStatus.EXPIRED

    simulator.confirm(payment.identifier)  # the citizen confirmed at the last second
    import time

    time.sleep(0.3)
    [answer] = deliver(simulator)

    assert body_of(answer)["status"] == "succeeded"
    assert _status(agency_a.schema_name, application) == ("succeeded", Status.SUBMITTED)


def test_a_wrong_amount_from_the_provider_never_marks_the_application_paid(
    agency_a, setup_a, citizen, simulator, pay
):
    simulator.behaviour["amount_delta"] = -1000
    application = awaiting(agency_a.schema_name, citizen)
    pay(citizen, application)
    payment = payment_of(agency_a.schema_name, application)
    simulator.confirm(payment.identifier)

    with schema_context(agency_a.schema_name):
        checked = payment_check(payment_id=payment.pk)

    assert (checked.status, checked.failure_reason) == ("failed", "amount_mismatch")
    assert _status(agency_a.schema_name, application)[1] == Status.AWAITING_PAYMENT
