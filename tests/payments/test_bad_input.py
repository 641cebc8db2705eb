"""Bad input is refused with a problem document, logged, counted, and changes nothing."""

from __future__ import annotations

import json
import time

import pytest
from django_tenants.utils import schema_context
from prometheus_client import REGISTRY

from apps.applications.workflow import Status
from apps.payments.models import Payment, PaymentStatus
from apps.payments.providers.aggregator import sign
from tests.conftest import HOST_A, HOST_B
from tests.payments.conftest import CALLBACK, SECRET, awaiting, body_of, payment_of

pytestmark = pytest.mark.django_db


def _refused(reason: str) -> float:
    return REGISTRY.get_sample_value("guichet_payments_refused_total", {"reason": reason}) or 0.0


def _post_callback(api, body: bytes, signature: str, host: str = HOST_A):
    return api(host).generic(
        "POST", CALLBACK, body, content_type="application/json", HTTP_X_PAYMENT_SIGNATURE=signature
    )


def _pending(agency_a, citizen, pay, simulator):
    application = awaiting(agency_a.schema_name, citizen)
    pay(citizen, application)
    payment = payment_of(agency_a.schema_name, application)
    simulator.confirm(payment.identifier)
    return application


def test_a_forged_callback_is_refused_and_changes_nothing(
    agency_a, setup_a, citizen, simulator, pay, deliver
):
    simulator.behaviour["callback"] = "forged"
    application = _pending(agency_a, citizen, pay, simulator)
    before = _refused("callback_signature_invalid")

    [answer] = deliver(simulator)

    assert answer.status_code == 401
    assert answer["Content-Type"].startswith("application/problem+json")
    assert body_of(answer)["code"] == "payment_callback_unauthenticated"
    assert _refused("callback_signature_invalid") == before + 1
    assert payment_of(agency_a.schema_name, application).status == PaymentStatus.PENDING
    assert simulator.requests.get("/api/v2/status", 0) == 0  # not even a status check


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        ("", "callback_signature_missing"),
        (f"t={int(time.time()) - 3600},v1=00", "callback_signature_expired"),
    ],
)
def test_missing_or_stale_signatures_are_refused(api, agency_a, setup_a, signature, reason):
    before = _refused(reason)
    answer = _post_callback(api, b'{"identifier": "GCH-x"}', signature)
    assert answer.status_code == 401
    assert _refused(reason) == before + 1


def test_a_signed_callback_for_an_unknown_identifier_is_404(api, agency_a, setup_a, simulator):
    body = json.dumps({"identifier": "GCH-unknown", "amount": 1500}).encode()
    answer = _post_callback(api, body, sign(SECRET, body, int(time.time())))
    assert answer.status_code == 404
    assert body_of(answer)["code"] == "payment_callback_unknown"


def test_a_callback_with_another_amount_is_refused(
    agency_a, setup_a, citizen, simulator, pay, deliver
):
    simulator.behaviour["amount_delta"] = 1
    application = _pending(agency_a, citizen, pay, simulator)
    [answer] = deliver(simulator)
    assert answer.status_code == 400
    assert body_of(answer)["code"] == "payment_amount_mismatch"
    assert payment_of(agency_a.schema_name, application).status == PaymentStatus.PENDING


def test_nobody_pays_someone_elses_application(
    agency_a, setup_a, citizen, other_citizen, simulator, pay
):
    application = awaiting(agency_a.schema_name, citizen)
    before = _refused("application_not_found")
    answer = pay(other_citizen, application)
    assert answer.status_code == 404
    assert _refused("application_not_found") == before + 1
    assert body_of(answer)["code"] == "application_not_found"
    assert simulator.requests == {}


def test_bad_phone_numbers_and_networks_are_400(agency_a, setup_a, citizen, simulator, pay):
    application = awaiting(agency_a.schema_name, citizen)
    answer = pay(citizen, application, body={"network": "orange", "phone": "12"})
    assert answer.status_code == 400
    assert set(body_of(answer)["errors"]) == {"network", "phone"}
    with schema_context(agency_a.schema_name):
        assert not Payment.objects.exists()


def test_a_payment_needs_an_idempotency_key(api, tokens, agency_a, setup_a, citizen):
    application = awaiting(agency_a.schema_name, citizen)
    answer = api(HOST_A, tokens(citizen).access).post(
        f"/api/v1/applications/{application.id}/payments/",
        {"network": "flooz", "phone": "+22899000000"},
        format="json",
    )
    assert answer.status_code == 400
    assert body_of(answer)["code"] == "idempotency_key_required"


# --- Tenant isolation ----------------------------------------------------------------------


def test_agency_a_applications_cannot_be_paid_or_seen_through_agency_b(
    agency_a, agency_b, setup_a, setup_b, citizen, simulator, pay, deliver, api, tokens, staff_of
):
    from apps.accounts.models import Role
    from apps.accounts.tokens import TokenKind

    application = awaiting(agency_a.schema_name, citizen)
    through_b = pay(citizen, application, host=HOST_B)
    assert through_b.status_code == 404
    assert simulator.requests == {}

    pay(citizen, application)
    payment = payment_of(agency_a.schema_name, application)
    simulator.confirm(payment.identifier)
    [misrouted] = deliver(simulator, host=HOST_B)  # A's callback on B's host: unknown there
    assert misrouted.status_code == 404
    assert payment_of(agency_a.schema_name, application).status == PaymentStatus.PENDING

    citizen_b = api(HOST_B, tokens(citizen).access)
    assert citizen_b.get(f"/api/v1/payments/{payment.pk}/").status_code == 404
    assert citizen_b.get("/api/v1/payments/").json()["count"] == 0

    supervisor_b = staff_of(agency_b, Role.SUPERVISOR)
    staff_b = api(
        HOST_B, tokens(supervisor_b, TokenKind.STAFF, agency=agency_b, role=Role.SUPERVISOR).access
    )
    assert staff_b.get(f"/api/v1/staff/applications/{application.id}/payments/").status_code == 404
    # A's staff token on B's host is refused outright.
    supervisor_a = staff_of(agency_a, Role.SUPERVISOR)
    token_a = tokens(supervisor_a, TokenKind.STAFF, agency=agency_a, role=Role.SUPERVISOR).access
    assert api(HOST_B, token_a).get(
        f"/api/v1/staff/applications/{application.id}/payments/"
    ).status_code in (401, 403)

    simulator.callbacks.clear()
    with schema_context(agency_a.schema_name):
        from apps.payments.services import payment_check

        payment_check(payment_id=payment.pk)
    from apps.payments.receipts import receipt_token

    paid = payment_of(agency_a.schema_name, application)
    assert paid.status == PaymentStatus.SUCCEEDED
    link = f"/payments/receipts/{receipt_token(paid)}/"
    assert api(HOST_A).get(link).status_code == 200
    assert api(HOST_B).get(link).status_code == 404
    assert api(HOST_A).get("/payments/receipts/forged-token/").status_code == 404
    with schema_context(agency_b.schema_name):
        assert not Payment.objects.exists()
    with schema_context(agency_a.schema_name):
        from apps.applications.models import Application

        assert Application.objects.get(pk=application.pk).status == Status.SUBMITTED


def test_reconciliation_of_agency_b_never_touches_agency_a_payments(
    agency_a, agency_b, setup_a, citizen, simulator, pay
):
    from apps.payments.services import payments_reconcile

    application = awaiting(agency_a.schema_name, citizen)
    pay(citizen, application)
    simulator.confirm(payment_of(agency_a.schema_name, application).identifier)

    with schema_context(agency_b.schema_name):
        assert payments_reconcile() == {"payments": 0, "refunds": 0}

    assert simulator.requests.get("/api/v2/status", 0) == 0
    assert payment_of(agency_a.schema_name, application).status == PaymentStatus.PENDING
