"""The console: an application's payments, the daily reconciliation report per network, CSV
exports (audited), the policy; agency B's console never shows agency A's payments."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.audit.models import AuditEvent
from apps.payments.models import ExemptionCategory, Payment, PaymentPolicy, PaymentStatus
from apps.payments.selectors import reconciliation_report
from tests.conftest import HOST_A, HOST_B
from tests.helpers import otp_login
from tests.payments.conftest import FEE, awaiting, payment_of

pytestmark = pytest.mark.django_db
PAYMENTS = "/admin/payments/payment/"


@pytest.fixture
def console(client, staff_of):
    def make(agency, role=Role.SUPERVISOR, host=HOST_A):
        user = staff_of(agency, role)
        client.defaults["HTTP_HOST"] = host
        otp_login(client, user)
        return client

    return make


@pytest.fixture
def day_of_payments(agency_a, setup_a, citizen, other_citizen, simulator, pay, deliver):
    """Two attempts today in agency A: one paid with T-Money, one pending with Flooz."""
    paid = awaiting(agency_a.schema_name, citizen)
    pay(citizen, paid)
    simulator.confirm(payment_of(agency_a.schema_name, paid).identifier)
    deliver(simulator)
    waiting = awaiting(agency_a.schema_name, other_citizen)
    pay(other_citizen, waiting, body={"network": "flooz", "phone": "+22899001122"})
    return paid, waiting


def test_the_report_counts_expected_confirmed_pending_refunded_per_network(
    agency_a, day_of_payments
):
    with schema_context(agency_a.schema_name):
        rows = {row.network: row for row in reconciliation_report(day=timezone.localdate())}
    tmoney, flooz = rows["tmoney"], rows["flooz"]
    assert (tmoney.expected_count, tmoney.confirmed_count, tmoney.confirmed_xof) == (1, 1, FEE)
    assert (flooz.expected_xof, flooz.confirmed_count, flooz.pending_xof) == (FEE, 0, FEE)
    assert tmoney.refunded_count == flooz.refunded_count == 0


def test_the_console_shows_payments_the_report_and_exports_csv(agency_a, day_of_payments, console):
    paid, _waiting = day_of_payments
    client = console(agency_a)

    listing = client.get(PAYMENTS, {"q": paid.reference})
    assert listing.status_code == 200
    content = listing.content.decode()
    assert payment_of(agency_a.schema_name, paid).identifier in content
    assert "90123456" not in content  # phone numbers are masked

    report = client.get(f"{PAYMENTS}report/")
    assert report.status_code == 200
    assert "Rapprochement quotidien" in report.content.decode()

    csv_report = client.get(f"{PAYMENTS}report.csv")
    lines = csv_report.content.decode().splitlines()
    assert lines[0].startswith("Réseau,Attendus (nombre)")
    assert lines[1].startswith(f"tmoney,1,{FEE},1,{FEE},0,0,0,0")
    export = client.get(f"{PAYMENTS}export.csv")
    assert export.status_code == 200
    assert "+228" not in export.content.decode()
    with schema_context(agency_a.schema_name):
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"payment.report_exported", "payment.export"} <= actions


def test_agency_b_console_never_shows_agency_a_payments(
    agency_a, agency_b, day_of_payments, console
):
    client = console(agency_b, host=HOST_B)
    listing = client.get(PAYMENTS)
    assert listing.status_code == 200
    with schema_context(agency_a.schema_name):
        identifiers = list(Payment.objects.values_list("identifier", flat=True))
    assert all(identifier not in listing.content.decode() for identifier in identifiers)
    payment = payment_of(agency_a.schema_name, day_of_payments[0])
    assert client.get(f"{PAYMENTS}{payment.pk}/change/").status_code in (302, 404)
    lines = client.get(f"{PAYMENTS}report.csv").content.decode().splitlines()
    assert lines[1].startswith("tmoney,0,0,0,0,0,0,0,0")


def test_only_agency_admins_change_the_policy(agency_a, console, db):
    supervisor = console(agency_a, Role.SUPERVISOR)
    assert supervisor.get("/admin/payments/paymentpolicy/add/").status_code == 403
    admin = console(agency_a, Role.AGENCY_ADMIN)
    answer = admin.post(
        "/admin/payments/paymentpolicy/add/",
        {"collects_online": "on", "refund_on_rejection": "on"},
    )
    assert answer.status_code == 302
    with schema_context(agency_a.schema_name):
        policy = PaymentPolicy.objects.get()
        assert (policy.collects_online, policy.refund_on_withdrawal) == (True, False)
        assert AuditEvent.objects.filter(action="payment.policy_changed").exists()


def test_the_demo_command_turns_on_online_collection(agency_a, db):
    call_command("payments_demo", stdout=None)
    call_command("payments_demo", stdout=None)  # idempotent
    with schema_context(agency_a.schema_name):
        assert PaymentPolicy.objects.get().collects_online
        assert ExemptionCategory.objects.filter(code="indigence").count() == 1
        assert not Payment.objects.filter(status=PaymentStatus.SUCCEEDED).exists()


def test_a_payment_opens_in_the_console_with_its_phone_masked(agency_a, day_of_payments, console):
    paid, _waiting = day_of_payments
    payment = payment_of(agency_a.schema_name, paid)
    page = console(agency_a, Role.AGENT).get(f"{PAYMENTS}{payment.pk}/change/")
    assert page.status_code == 200
    content = page.content.decode()
    assert payment.identifier in content
    assert payment.phone not in content
