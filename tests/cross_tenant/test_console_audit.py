"""Changes made in the platform console are audited like API changes."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from apps.audit.models import AuditEvent
from tests.conftest import PUBLIC_HOST
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_platform_console_edit_of_a_membership_is_audited(
    client, platform_admin, agency_a, staff_of
):
    agent = staff_of(agency_a)
    membership = agent.memberships.get()
    client.defaults["HTTP_HOST"] = PUBLIC_HOST
    client.post(
        "/admin/login/?next=/admin/", {"username": platform_admin.email, "password": PASSWORD}
    )

    response = client.post(
        f"/admin/accounts/membership/{membership.pk}/change/", {"role": "supervisor"}
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    membership.refresh_from_db()
    assert membership.role == "supervisor"
    # Recorded in the chain of the agency concerned, so its auditors see it.
    with schema_context(agency_a.schema_name):
        event = AuditEvent.objects.filter(action="membership.role_changed").get()
    assert event.changes["role"] == {"old": "agent", "new": "supervisor"}
    assert event.actor_id == str(platform_admin.pk)


def _console(client, platform_admin):
    client.defaults["HTTP_HOST"] = PUBLIC_HOST
    credentials = {"username": platform_admin.email, "password": PASSWORD}
    client.post("/admin/login/?next=/admin/", credentials)
    return client


def test_ending_a_membership_in_the_console_ends_the_staff_session_at_once(
    client, api, platform_admin, agency_a, staff_of, tokens
):
    from apps.accounts.tokens import TokenKind
    from tests.conftest import HOST_A

    agent = staff_of(agency_a)
    membership = agent.memberships.get()
    access = tokens(agent, TokenKind.STAFF, agency=agency_a, role="agent").access
    assert api(HOST_A, access).get("/api/v1/staff/me/").status_code == 200

    _console(client, platform_admin).post(
        "/admin/accounts/membership/",
        {"action": "end", "_selected_action": [str(membership.pk)]},
    )

    assert api(HOST_A, access).get("/api/v1/staff/me/").status_code == 401


def test_deactivating_an_account_in_the_console_ends_its_sessions(
    client, api, platform_admin, citizen, tokens
):
    issued = tokens(citizen)
    assert api(PUBLIC_HOST, issued.access).get("/api/v1/me/").status_code == 200

    response = _console(client, platform_admin).post(
        f"/admin/accounts/user/{citizen.pk}/change/",
        {"email": citizen.email, "phone": citizen.phone, "preferred_language": "fr"},
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    citizen.refresh_from_db()
    assert not citizen.is_active
    assert api(PUBLIC_HOST, issued.access).get("/api/v1/me/").status_code == 401
    refresh = api(PUBLIC_HOST).post("/api/v1/auth/token/refresh/", {"refresh": issued.refresh})
    assert refresh.status_code == 401
