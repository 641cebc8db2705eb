"""The admin console of an agency is open to its own staff only."""

from __future__ import annotations

import pytest

from apps.accounts.models import Role
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST
from tests.factories import PASSWORD
from tests.helpers import console_sign_in

pytestmark = pytest.mark.django_db


def _login(client, user) -> bool:
    response = console_sign_in(client, user.email, PASSWORD, user=user)
    return response.status_code == 302 and response["Location"] == "/admin/"


def test_staff_of_the_agency_can_sign_in_to_its_console(client, agency_a, staff_of):
    agent = staff_of(agency_a, Role.SUPERVISOR)
    client.defaults["HTTP_HOST"] = HOST_A

    assert _login(client, agent)
    assert client.get("/admin/").status_code == 200


def test_staff_of_another_agency_is_refused(client, agency_a, staff_of):
    agent = staff_of(agency_a, Role.AGENCY_ADMIN)
    client.defaults["HTTP_HOST"] = HOST_B

    assert not _login(client, agent)
    assert client.get("/admin/").status_code == 302  # back to the login page


def test_session_of_agency_a_does_not_open_agency_b(client, agency_a, staff_of):
    agent = staff_of(agency_a)
    client.defaults["HTTP_HOST"] = HOST_A
    assert _login(client, agent)

    client.defaults["HTTP_HOST"] = HOST_B
    response = client.get("/admin/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_citizens_cannot_use_any_console(client, citizen):
    for host in (PUBLIC_HOST, HOST_A):
        client.defaults["HTTP_HOST"] = host
        assert not _login(client, citizen)


def test_platform_console_is_for_platform_admins(client, platform_admin, agency_a, staff_of):
    client.defaults["HTTP_HOST"] = PUBLIC_HOST
    assert not _login(client, staff_of(agency_a, Role.AGENCY_ADMIN))
    assert _login(client, platform_admin)
    assert client.get("/admin/agencies/agency/").status_code == 200


def test_revoked_membership_closes_the_console(client, agency_a, staff_of):
    agent = staff_of(agency_a)
    client.defaults["HTTP_HOST"] = HOST_A
    assert _login(client, agent)
    agent.memberships.update(is_active=False)

    assert client.get("/admin/").status_code == 302
