"""The caller's own profile."""

from __future__ import annotations

import pytest

from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind
from apps.audit.models import AuditEvent
from tests.conftest import HOST_A
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


def test_profile_lists_memberships_in_a_constant_number_of_queries(
    api, agency_a, agency_b, staff_of, tokens, django_assert_max_num_queries
):
    agent = staff_of(agency_a, Role.AGENT)
    from apps.accounts.services import membership_grant

    membership_grant(user=agent, agency=agency_b, role=Role.AUDITOR)
    access = tokens(agent, TokenKind.STAFF, agency=agency_a, role="agent").access

    # SET public, host lookup, SET agency, user, memberships (whatever the number of memberships).
    with django_assert_max_num_queries(5):
        response = api(HOST_A, access).get("/api/v1/me/")

    assert response.status_code == 200
    assert sorted(m["agency"] for m in response.json()["memberships"]) == ["agence-a", "agence-b"]


def test_update_names_and_language_is_audited_without_personal_values(api, citizen, tokens):
    access = tokens(citizen).access

    response = api(HOST_A, access).patch(
        "/api/v1/me/", {"first_name": "Adjoa", "preferred_language": "en"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["first_name"] == "Adjoa"
    citizen.refresh_from_db()
    assert citizen.preferred_language == "en"
    event = AuditEvent.objects.get(action="user.profile_updated")
    assert event.changes == {
        "first_name": {"old": "[redacted]", "new": "[redacted]"},
        "preferred_language": {"old": "fr", "new": "en"},
    }
    assert event.actor_id == str(citizen.id)
    assert event.request_id == response["X-Request-ID"]


def test_unchanged_update_writes_no_audit_event(api, citizen, tokens):
    before = AuditEvent.objects.count()

    api(HOST_A, tokens(citizen).access).patch("/api/v1/me/", {"first_name": "Afi"}, format="json")

    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("field", ["email", "phone", "id", "is_superuser"])
def test_identity_fields_cannot_be_changed_here(api, citizen, tokens, field):
    response = api(HOST_A, tokens(citizen).access).patch("/api/v1/me/", {field: "x"}, format="json")

    body = assert_problem(response, 400, "unknown_field")
    assert field in body["errors"]
    citizen.refresh_from_db()
    assert not citizen.is_superuser
