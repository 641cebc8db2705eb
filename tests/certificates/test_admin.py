"""Certificates in the agency console: read by staff, revoked with a reason by supervisors."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.audit.models import AuditEvent
from apps.certificates.models import Certificate, CertificateStatus
from tests.conftest import HOST_A
from tests.helpers import otp_login

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/certificates/certificate/"


@pytest.fixture
def console(client, agency_a, staff_of):
    def make(role: str):
        user = staff_of(agency_a, role)
        client.defaults["HTTP_HOST"] = HOST_A
        otp_login(client, user)
        return user, client

    return make


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.AGENCY_ADMIN, Role.AUDITOR])
def test_every_member_reads_the_certificates(console, certificate, role):
    _, client = console(role)

    listing = client.get(CHANGELIST)
    detail = client.get(f"{CHANGELIST}{certificate.pk}/change/")

    assert listing.status_code == 200
    assert certificate.reference in listing.content.decode()
    assert detail.status_code == 200


def test_a_supervisor_revokes_with_a_reason(console, certificate):
    user, client = console(Role.SUPERVISOR)
    selection = {"action": "revoke", ACTION_CHECKBOX_NAME: [str(certificate.pk)]}

    confirm = client.post(CHANGELIST, selection)
    empty = client.post(CHANGELIST, {**selection, "apply": "1", "reason": ""})
    done = client.post(CHANGELIST, {**selection, "apply": "1", "reason": "Doublon"}, follow=True)

    assert confirm.status_code == 200
    assert b'name="reason"' in confirm.content
    assert empty.status_code == 200  # the form again, nothing revoked
    assert done.status_code == 200
    with schema_context("agence_a"):
        stored = Certificate.objects.get(pk=certificate.pk)
        event = AuditEvent.objects.get(action="certificate.revoked")
    assert stored.status == CertificateStatus.REVOKED
    assert stored.revocation_reason == "Doublon"
    assert stored.revoked_by_id == user.pk
    assert event.actor_id == str(user.pk)


@pytest.mark.parametrize("role", [Role.AGENT, Role.AUDITOR])
def test_agents_and_auditors_cannot_revoke(console, certificate, role):
    _, client = console(role)

    client.post(
        CHANGELIST,
        {
            "action": "revoke",
            ACTION_CHECKBOX_NAME: [str(certificate.pk)],
            "apply": "1",
            "reason": "x",
        },
    )

    with schema_context("agence_a"):
        assert Certificate.objects.get(pk=certificate.pk).status == CertificateStatus.VALID
