"""The demo stays usable with the second factor: seed_demo's authenticator and totp_code."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.mfa.demo import seed_demo_second_factor
from apps.accounts.models import Role
from tests.conftest import HOST_A
from tests.factories import PASSWORD
from tests.helpers import totp_device_for

pytestmark = pytest.mark.django_db


def _code(login: str) -> str:
    out = io.StringIO()
    call_command("totp_code", login, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def test_a_demo_staff_member_signs_in_with_the_printed_command(api, agency_a, staff_of):
    agent = staff_of(agency_a, Role.AGENT)
    assert seed_demo_second_factor([agent]) == 1
    assert seed_demo_second_factor([agent]) == 0  # idempotent

    code = _code(agent.email)
    response = api(HOST_A).post(
        "/api/v1/auth/token/",
        {"login": agent.email, "password": PASSWORD, "portal": "staff", "otp": code},
    )

    assert len(code) == 6
    assert code.isdigit()
    assert response.status_code == 200, response.content


def test_totp_code_never_prints_a_real_authenticators_code(agency_a, staff_of):
    agent = staff_of(agency_a)
    totp_device_for(agent)  # enrolled for real, not by seed_demo
    assert seed_demo_second_factor([agent]) == 0

    with pytest.raises(CommandError):
        _code(agent.email)
    with pytest.raises(CommandError):
        _code("nobody@example.tg")
    assert TOTPDevice.objects.filter(user=agent).count() == 1
