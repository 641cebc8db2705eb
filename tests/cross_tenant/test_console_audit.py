"""Changes made in the platform console are audited like API changes."""

from __future__ import annotations

import pytest

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
        f"/admin/accounts/membership/{membership.pk}/change/",
        {"user": agent.pk, "agency": agency_a.pk, "role": "supervisor", "is_active": "on"},
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    membership.refresh_from_db()
    assert membership.role == "supervisor"
    event = AuditEvent.objects.filter(action="accounts.membership.admin_changed").get()
    assert event.changes["role"] == {"old": "agent", "new": "supervisor"}
    assert event.actor_id == str(platform_admin.pk)
