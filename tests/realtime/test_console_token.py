"""The console's token for the gateway (``POST /admin/realtime-token/``) and the live queue page.

A console session that passed its second factor gets a short-lived staff access token for its
person, agency and role, which the gateway's authentication accepts; a session without the
second factor, a person of another agency, the public host and a request without the CSRF
token get nothing.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_tenants.utils import schema_context

from apps.accounts.mfa.models import PasskeyDevice
from apps.accounts.models import Role
from apps.audit.labels import ACTION_LABELS
from apps.audit.models import AuditEvent
from apps.realtime.auth import AuthRefused, realtime_authenticate
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST
from tests.helpers import otp_login

pytestmark = pytest.mark.django_db

URL = "/admin/realtime-token/"


def _claims(access: str) -> dict[str, Any]:
    return jwt.decode(access, options={"verify_signature": False})


def test_a_verified_console_session_gets_a_short_lived_staff_token_the_gateway_accepts(
    agency_a, staff_of
):
    agent = staff_of(agency_a, Role.SUPERVISOR)
    client = Client(HTTP_HOST=HOST_A)
    otp_login(client, agent)

    response = client.post(URL)

    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert "refresh" not in body
    assert body["kind"] == "staff"
    assert body["agency"] == agency_a.schema_name
    assert body["expires_in"] == 300
    claims = _claims(body["access"])
    assert claims["sub"] if "sub" in claims else claims["user_id"]
    assert claims["kind"] == "staff"
    assert claims["role"] == Role.SUPERVISOR
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["exp"] - time.time() <= 300
    assert claims["token_type"] == "access"
    with schema_context(agency_a.schema_name):
        principal = realtime_authenticate(body["access"])
    assert principal.kind == "staff"
    assert principal.user_id == agent.pk
    assert principal.agency == agency_a.schema_name
    assert AuditEvent.objects.filter(
        action="auth.console_token", target_id=str(agent.pk), outcome="success"
    ).exists()
    assert "auth.console_token" in ACTION_LABELS  # the trail names it in words
    # The same token opens the staff REST API of agency A, and nothing in agency B.
    api = Client(HTTP_HOST=HOST_A, HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert api.get("/api/v1/staff/applications/").status_code == 200
    other = Client(HTTP_HOST=HOST_B, HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert other.get("/api/v1/staff/applications/").status_code == 401
    with schema_context("agence_b"), pytest.raises(AuthRefused) as refused:
        realtime_authenticate(body["access"])
    assert refused.value.code == "token_wrong_agency"


def test_a_session_without_the_second_factor_gets_no_token(agency_a, staff_of):
    agent = staff_of(agency_a)
    client = Client(HTTP_HOST=HOST_A)
    client.force_login(agent)  # password only: no verified device in the session

    response = client.post(URL)

    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "mfa_required"
    assert "access" not in response.json()


def test_a_stale_device_in_the_session_is_not_a_second_factor(agency_a, staff_of):
    agent = staff_of(agency_a)
    client = Client(HTTP_HOST=HOST_A)
    client.force_login(agent)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = "otp_totp.totpdevice/999999"
    session.save()

    assert client.post(URL).json()["code"] == "mfa_required"


def test_another_agencys_console_and_the_public_host_give_no_token(agency_a, agency_b, staff_of):
    agent = staff_of(agency_a)
    client = Client(HTTP_HOST=HOST_B)
    otp_login(client, agent)

    response = client.post(URL)

    assert response.status_code == 403
    assert response.json()["code"] == "not_agency_staff"
    # The public host has no such page (the console's catch-all sends to its sign-in).
    public = Client(HTTP_HOST=PUBLIC_HOST)
    otp_login(public, agent)
    response = public.post(URL)
    assert response.status_code in (302, 404)
    assert b"access" not in response.content


def test_a_deactivated_membership_gets_no_token(agency_a, staff_of):
    agent = staff_of(agency_a)
    client = Client(HTTP_HOST=HOST_A)
    otp_login(client, agent)
    agent.memberships.update(is_active=False)

    response = client.post(URL)

    assert response.status_code == 403
    assert response.json()["code"] == "not_agency_staff"


def test_anonymous_get_and_csrf_less_requests_get_nothing(agency_a, staff_of):
    assert Client(HTTP_HOST=HOST_A).post(URL).json()["code"] == "not_authenticated"
    agent = staff_of(agency_a)
    client = Client(HTTP_HOST=HOST_A, enforce_csrf_checks=True)
    otp_login(client, agent)
    assert client.get(URL).status_code == 405
    assert client.post(URL).status_code == 403  # no CSRF token

    page = client.get("/admin/applications/application/")
    token = client.cookies["csrftoken"].value
    response = client.post(URL, HTTP_X_CSRFTOKEN=token)
    assert page.status_code == 200
    assert response.status_code == 200, response.content


def test_the_queue_page_loads_the_live_queue_and_marks_its_rows(agency_a, staff_of):
    agent = staff_of(agency_a)
    client = Client(HTTP_HOST=HOST_A)
    otp_login(client, agent)

    response = client.get("/admin/applications/application/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'src="/static/realtime/queue-live.js" data-token-url="/admin/realtime-token/"' in html
    assert "/static/console/queue-notice.js" in html
    assert 'id="queue-live-notice"' in html
    assert 'role="status" aria-live="polite"' in html
    assert "Actualiser la liste" in html or "Refresh the list" in html


def test_the_user_tools_link_to_the_second_factor_pages(agency_a, staff_of):
    admin = staff_of(agency_a, Role.AGENCY_ADMIN)
    agent = staff_of(agency_a)
    for person, sees_staff_page in ((admin, True), (agent, False)):
        client = Client(HTTP_HOST=HOST_A)
        otp_login(client, person)
        html = client.get("/admin/").content.decode()
        user_tools = html.split('id="user-tools"')[1].split("</div>")[0]
        assert 'href="/admin/mfa/"' in user_tools
        assert ('href="/admin/mfa/staff/"' in user_tools) is sees_staff_page
        assert "console/console.css" in html


def test_a_session_verified_with_a_passkey_carries_its_amr(agency_a, staff_of):
    agent = staff_of(agency_a)
    device = PasskeyDevice.objects.create(
        user=agent, name="passkey", rp_id=HOST_A, credential_id="CCCC", public_key=b"x"
    )
    client = Client(HTTP_HOST=HOST_A)
    client.force_login(agent)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()

    response = client.post(URL)

    assert response.status_code == 200, response.content
    assert _claims(response.json()["access"])["amr"] == ["pwd", "hwk", "mfa"]
