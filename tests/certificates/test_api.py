"""Certificates for their holder and the agency's staff; revocation by supervisors."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind
from apps.audit.models import AuditEvent
from apps.certificates.models import Certificate, CertificateStatus
from apps.outbox.models import OutboxMessage
from apps.webhooks.services import subscription_create
from tests.conftest import HOST_A, HOST_B
from tests.helpers import assert_problem
from tests.webhooks.conftest import make_partner

pytestmark = pytest.mark.django_db


def _staff_token(tokens, user, agency, role):
    return tokens(user, TokenKind.STAFF, agency=agency, role=role).access


def test_the_holder_lists_and_reads_their_certificates(api, tokens, citizen, certificate):
    client = api(HOST_A, tokens(citizen).access)

    listed = client.get("/api/v1/certificates/")
    detail = client.get(f"/api/v1/certificates/{certificate.pk}/")

    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["results"]] == [str(certificate.pk)]
    assert detail.json()["code"] == certificate.code
    assert detail.json()["document_sha256"] == certificate.sha256


def test_the_holder_downloads_the_signed_pdf(api, tokens, citizen, certificate, media_root):
    response = api(HOST_A, tokens(citizen).access).get(
        f"/api/v1/certificates/{certificate.pk}/download/"
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    content = b"".join(response.streaming_content)
    assert content == (media_root / certificate.file_path).read_bytes()


def test_a_missing_file_is_a_404_not_a_500(api, tokens, citizen, certificate, media_root):
    (media_root / certificate.file_path).unlink()
    response = api(HOST_A, tokens(citizen).access).get(
        f"/api/v1/certificates/{certificate.pk}/download/"
    )
    assert_problem(response, 404, "certificate_not_found")


def test_who_sees_a_certificate(
    api, tokens, citizen, other_citizen, certificate, staff_of, agency_a, agency_b
):
    partner = make_partner(agency_a, ["certificates:verify"])
    other_staff = staff_of(agency_b, Role.SUPERVISOR)
    callers = {
        "anonymous": (HOST_A, None, 401),
        "holder": (HOST_A, tokens(citizen).access, 200),
        "other citizen": (HOST_A, tokens(other_citizen).access, 404),
        "partner": (HOST_A, partner.token, 403),
        "staff of B on B": (
            HOST_B,
            _staff_token(tokens, other_staff, agency_b, Role.SUPERVISOR),
            404,
        ),
        "staff of B on A": (
            HOST_A,
            _staff_token(tokens, other_staff, agency_b, Role.SUPERVISOR),
            401,
        ),
    }
    for role in (Role.AGENT, Role.SUPERVISOR, Role.AGENCY_ADMIN, Role.AUDITOR):
        member = staff_of(agency_a, role)
        callers[f"{role} of A"] = (HOST_A, _staff_token(tokens, member, agency_a, role), 200)

    for name, (host, token, expected) in callers.items():
        detail = api(host, token).get(f"/api/v1/certificates/{certificate.pk}/")
        download = api(host, token).get(f"/api/v1/certificates/{certificate.pk}/download/")
        assert detail.status_code == expected, name
        assert download.status_code == expected, name


def test_lists_have_a_query_budget(
    api, tokens, agency_a, staff_of, certificate, django_assert_max_num_queries
):
    admin = staff_of(agency_a, Role.AGENCY_ADMIN)
    client = api(HOST_A, _staff_token(tokens, admin, agency_a, Role.AGENCY_ADMIN))
    with django_assert_max_num_queries(10):
        response = client.get("/api/v1/certificates/")
    assert response.json()["count"] == 1


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.AGENCY_ADMIN])
def test_supervisors_and_admins_revoke_with_a_reason(
    api, tokens, agency_a, staff_of, certificate, role
):
    member = staff_of(agency_a, role)
    partner = make_partner(agency_a, ["webhooks:manage"])
    with schema_context("agence_a"):
        subscription_create(
            partner_client_id=partner.client.pk,
            url="http://127.0.0.1:9/hook",
            events=["certificate.revoked"],
        )
        OutboxMessage.objects.all().delete()

    response = api(HOST_A, _staff_token(tokens, member, agency_a, role)).post(
        f"/api/v1/certificates/{certificate.pk}/revoke/", {"reason": "Erreur de saisie"}
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "revoked"
    with schema_context("agence_a"):
        stored = Certificate.objects.get(pk=certificate.pk)
        event = AuditEvent.objects.get(action="certificate.revoked")
        [webhook] = OutboxMessage.objects.filter(kind="webhook")
    assert stored.status == CertificateStatus.REVOKED
    assert stored.revoked_by_id == member.pk
    assert stored.revocation_reason == "Erreur de saisie"
    assert event.target_id == str(certificate.pk)
    assert event.actor_id == str(member.pk)
    assert "Erreur" not in str(event.changes)
    assert webhook.payload["event"] == "certificate.revoked"


def test_revoking_twice_is_a_conflict(api, tokens, agency_a, staff_of, certificate):
    member = staff_of(agency_a, Role.SUPERVISOR)
    client = api(HOST_A, _staff_token(tokens, member, agency_a, Role.SUPERVISOR))
    client.post(f"/api/v1/certificates/{certificate.pk}/revoke/", {"reason": "x"})

    response = client.post(f"/api/v1/certificates/{certificate.pk}/revoke/", {"reason": "x"})

    assert_problem(response, 409, "certificate_already_revoked")
    with schema_context("agence_a"):
        assert AuditEvent.objects.filter(action="certificate.revoked").count() == 1


def test_a_revocation_needs_a_reason(api, tokens, agency_a, staff_of, certificate):
    member = staff_of(agency_a, Role.SUPERVISOR)
    client = api(HOST_A, _staff_token(tokens, member, agency_a, Role.SUPERVISOR))

    missing = client.post(f"/api/v1/certificates/{certificate.pk}/revoke/", {})
    blank = client.post(f"/api/v1/certificates/{certificate.pk}/revoke/", {"reason": "  "})

    assert_problem(missing, 400, "validation_failed")
    assert_problem(blank, 400, "validation_failed")
    with schema_context("agence_a"):
        assert Certificate.objects.get(pk=certificate.pk).status == CertificateStatus.VALID


def test_who_may_revoke(api, tokens, citizen, agency_a, agency_b, staff_of, certificate):
    other = staff_of(agency_b, Role.AGENCY_ADMIN)
    callers = {
        "anonymous": (HOST_A, None, 401),
        "holder": (HOST_A, tokens(citizen).access, 403),
        "agent": (
            HOST_A,
            _staff_token(tokens, staff_of(agency_a, Role.AGENT), agency_a, Role.AGENT),
            403,
        ),
        "auditor": (
            HOST_A,
            _staff_token(tokens, staff_of(agency_a, Role.AUDITOR), agency_a, Role.AUDITOR),
            403,
        ),
        "admin of B on B": (HOST_B, _staff_token(tokens, other, agency_b, Role.AGENCY_ADMIN), 404),
    }
    for name, (host, token, expected) in callers.items():
        response = api(host, token).post(
            f"/api/v1/certificates/{certificate.pk}/revoke/", {"reason": "x"}
        )
        assert response.status_code == expected, name
    with schema_context("agence_a"):
        assert Certificate.objects.get(pk=certificate.pk).status == CertificateStatus.VALID


def test_revoking_an_unknown_certificate_is_404(api, tokens, agency_a, staff_of):
    member = staff_of(agency_a, Role.SUPERVISOR)
    response = api(HOST_A, _staff_token(tokens, member, agency_a, Role.SUPERVISOR)).post(
        "/api/v1/certificates/00000000-0000-0000-0000-000000000000/revoke/", {"reason": "x"}
    )
    assert_problem(response, 404, "certificate_not_found")
