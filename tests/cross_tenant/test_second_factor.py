"""Agency A's second-factor steps and resets do not reach agency B (API, console, hot keys)."""

from __future__ import annotations

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind
from tests.conftest import HOST_A, HOST_B
from tests.factories import PASSWORD
from tests.helpers import assert_problem, otp_login, totp_device_for, totp_now

pytestmark = pytest.mark.django_db


def test_a_sign_in_step_begun_on_agency_a_is_unknown_on_agency_b(api, agency_a, agency_b, staff_of):
    person = staff_of(agency_a)
    person.memberships.create(agency=agency_b, role=Role.AGENT)  # staff of both
    device = totp_device_for(person)
    body = {"login": person.email, "password": PASSWORD, "portal": "staff"}
    challenge = api(HOST_A).post("/api/v1/auth/token/", body).json()["mfa_token"]

    on_b = api(HOST_B).post(
        "/api/v1/auth/token/mfa/", {"mfa_token": challenge, "otp": totp_now(device)}
    )

    assert_problem(on_b, 401, "mfa_token_invalid")


def test_agency_b_admin_cannot_reset_agency_a_staff(api, agency_a, agency_b, staff_of, tokens):
    agent_a, admin_b = staff_of(agency_a), staff_of(agency_b, Role.AGENCY_ADMIN)
    totp_device_for(agent_a)
    token_b = tokens(admin_b, TokenKind.STAFF, agency=agency_b, role="agency_admin").access

    on_b = api(HOST_B, token_b).post(
        "/api/v1/staff/second-factor/reset/", {"user": str(agent_a.pk)}
    )
    on_a = api(HOST_A, token_b).post(
        "/api/v1/staff/second-factor/reset/", {"user": str(agent_a.pk)}
    )

    assert_problem(on_b, 404, "not_found")
    assert_problem(on_a, 401, "token_wrong_agency")
    console = Client(HTTP_HOST=HOST_B)
    otp_login(console, admin_b)
    assert agent_a.email not in console.get("/admin/mfa/staff/").content.decode()
    console.post(f"/admin/mfa/staff/{agent_a.pk}/reset/")
    assert TOTPDevice.objects.filter(user=agent_a, confirmed=True).exists()


def test_a_verified_console_session_of_agency_a_does_not_open_agency_b(
    agency_a, agency_b, staff_of
):
    agent = staff_of(agency_a)
    client = Client(HTTP_HOST=HOST_A)
    otp_login(client, agent)
    assert client.get("/admin/").status_code == 200

    client.defaults["HTTP_HOST"] = HOST_B
    assert client.get("/admin/").status_code == 302
