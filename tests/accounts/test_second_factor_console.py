"""The console opens only after the second factor: enrolment, codes, recovery codes, resets."""

from __future__ import annotations

import re
from base64 import b32decode

import pytest
from django.test import Client, override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import schema_context

from apps.accounts.mfa.models import PasskeyDevice, RecoveryCode
from apps.accounts.models import Role
from apps.audit.models import AuditEvent
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST
from tests.factories import PASSWORD
from tests.helpers import otp_login, totp_device_for, totp_now

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
ENROL = "/admin/mfa/enrol/"
VERIFY = "/admin/mfa/verify/"


def console(host: str = HOST_A) -> Client:
    return Client(HTTP_HOST=host)


def password_step(client: Client, user) -> str:
    response = client.post(LOGIN, {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return response["Location"]


def test_a_password_alone_opens_no_console_page(agency_a, staff_of):
    agent = staff_of(agency_a)
    totp_device_for(agent)
    client = console()

    assert password_step(client, agent) == VERIFY
    for page in ("/admin/", "/admin/applications/", "/admin/mfa/", "/admin/mfa/staff/"):
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/admin/login/")
        assert client.get(response["Location"])["Location"] == VERIFY  # then the code step
    assert "_auth_user_id" not in client.session  # nobody is signed in yet
    restart = client.get("/admin/login/?restart=1")
    assert restart.status_code == 200  # the password form again


def test_first_sign_in_enrols_an_authenticator_then_shows_recovery_codes_once(agency_a, staff_of):
    agent = staff_of(agency_a, Role.SUPERVISOR)
    client = console()

    assert password_step(client, agent) == ENROL
    page = client.get(ENROL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html
    assert "src=" not in html.split('id="mfa-qr"')[1].split("</div>")[0]  # drawn inline
    device = TOTPDevice.objects.get(user=agent, confirmed=False)
    secret = re.search(r'id="mfa-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    assert b32decode(secret) == device.bin_key
    assert "no-store" in page["Cache-Control"]

    wrong = client.post(ENROL, {"otp": "000000"})
    assert wrong.status_code == 200
    assert "4" in wrong.content.decode()  # attempts left
    assert client.get("/admin/").status_code == 302

    done = client.post(ENROL, {"otp": totp_now(device)})

    assert done.status_code == 200
    codes = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", done.content.decode())
    assert len(codes) == 10
    assert RecoveryCode.objects.filter(device__user=agent, used_at__isnull=True).count() == 10
    assert client.get("/admin/").status_code == 200
    assert AuditEvent.objects.filter(action="mfa.enrolled", target_id=str(agent.pk)).exists()
    # Shown once: no page shows the secret or the codes again.
    assert client.get(ENROL).status_code == 302
    mine = client.get("/admin/mfa/").content.decode()
    assert "10" in mine
    assert codes[0] not in mine


def test_each_enrolment_page_draws_a_new_secret(agency_a, staff_of):
    agent = staff_of(agency_a)
    client = console()
    password_step(client, agent)

    client.get(ENROL)
    first = TOTPDevice.objects.get(user=agent).key
    client.get(ENROL)

    assert TOTPDevice.objects.get(user=agent).key != first  # the first page's secret is void


def test_sign_in_with_a_code_then_with_a_recovery_code_once(agency_a, staff_of):
    agent = staff_of(agency_a)
    client = console()
    password_step(client, agent)
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=agent)
    codes = re.findall(
        r"<li>([a-z2-9-]{11})</li>", client.post(ENROL, {"otp": totp_now(device)}).content.decode()
    )
    client.post("/admin/logout/")

    second = console()
    assert password_step(second, agent) == VERIFY
    signed_in = second.post(VERIFY, {"otp": codes[0]})
    assert signed_in.status_code == 302
    assert signed_in["Location"] == "/admin/"
    assert second.get("/admin/").status_code == 200

    third = console()
    password_step(third, agent)
    refused = third.post(VERIFY, {"otp": codes[0]})
    assert refused.status_code == 200
    assert "already used" in refused.content.decode() or "déjà" in refused.content.decode()
    assert third.get("/admin/").status_code == 302


@override_settings(MFA_MAX_FAILURES=2)
def test_wrong_codes_lock_the_console_step(agency_a, staff_of):
    agent = staff_of(agency_a)
    device = totp_device_for(agent)
    client = console()
    password_step(client, agent)
    for _ in range(2):
        client.post(VERIFY, {"otp": "000000"})

    locked = client.post(VERIFY, {"otp": totp_now(device)})

    assert locked.status_code == 200
    assert "15" in locked.content.decode()
    assert client.get("/admin/").status_code == 302


def test_a_session_signed_in_without_the_second_factor_is_refused(agency_a, staff_of):
    agent = staff_of(agency_a)
    client = console()
    client.force_login(agent)  # as a session from before the second factor would be

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert client.get(response["Location"])["Location"] == ENROL  # its second factor, first
    assert "_auth_user_id" not in client.session


def test_the_code_step_belongs_to_the_host_of_the_password(agency_a, agency_b, staff_of):
    agent = staff_of(agency_a)
    agent.memberships.create(agency=agency_b, role=Role.AGENT)
    device = totp_device_for(agent)
    client = console(HOST_A)
    password_step(client, agent)

    client.defaults["HTTP_HOST"] = HOST_B
    response = client.post(VERIFY, {"otp": totp_now(device)})

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@override_settings(MFA_CHALLENGE_SECONDS=0)
def test_the_code_step_expires(agency_a, staff_of):
    agent = staff_of(agency_a)
    device = totp_device_for(agent)
    client = console()
    password_step(client, agent)

    response = client.post(VERIFY, {"otp": totp_now(device)})

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_platform_console_needs_the_second_factor(platform_admin):
    client = console(PUBLIC_HOST)

    assert password_step(client, platform_admin) == ENROL
    assert client.get("/admin/").status_code == 302


# --- resets in the console ---------------------------------------------------------------------


def test_an_agency_admin_resets_an_agent_in_the_console(agency_a, staff_of):
    admin, agent = staff_of(agency_a, Role.AGENCY_ADMIN), staff_of(agency_a)
    admin_console, agent_console = console(), console()
    otp_login(admin_console, admin)
    otp_login(agent_console, agent)
    assert agent_console.get("/admin/").status_code == 200

    page = admin_console.get("/admin/mfa/staff/").content.decode()
    assert agent.email in page
    assert admin.email not in page
    response = admin_console.post(f"/admin/mfa/staff/{agent.pk}/reset/")

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=agent).exists()
    assert agent_console.get("/admin/").status_code == 302  # their session lost its second factor
    assert password_step(console(), agent) == ENROL  # they enrol again
    with schema_context(agency_a.schema_name):
        assert AuditEvent.objects.filter(action="mfa.reset", target_id=str(agent.pk)).count() == 1


def test_the_console_reset_respects_agencies_and_roles(agency_a, agency_b, staff_of):
    admin_b, agent_a = staff_of(agency_b, Role.AGENCY_ADMIN), staff_of(agency_a)
    supervisor_a = staff_of(agency_a, Role.SUPERVISOR)
    totp_device_for(agent_a)
    as_admin_b, as_supervisor = console(HOST_B), console(HOST_A)
    otp_login(as_admin_b, admin_b)
    otp_login(as_supervisor, supervisor_a)

    assert agent_a.email not in as_admin_b.get("/admin/mfa/staff/").content.decode()
    as_admin_b.post(f"/admin/mfa/staff/{agent_a.pk}/reset/")
    as_supervisor.post(f"/admin/mfa/staff/{agent_a.pk}/reset/")

    assert TOTPDevice.objects.filter(user=agent_a, confirmed=True).exists()
    for schema in (agency_a.schema_name, agency_b.schema_name):
        with schema_context(schema):
            assert not AuditEvent.objects.filter(action="mfa.reset").exists()


# --- passkeys (the browser test adds and uses one with Chromium's virtual authenticator) -------


def test_a_forged_passkey_answer_is_refused_and_counted(agency_a, staff_of):
    agent = staff_of(agency_a)
    totp_device_for(agent)
    PasskeyDevice.objects.create(
        user=agent, name="passkey", rp_id=HOST_A, credential_id="AAAA", public_key=b"x"
    )
    client = console()
    password_step(client, agent)
    assert 'id="mfa-passkey"' in client.get(VERIFY).content.decode()
    assert client.get("/admin/mfa/passkeys/verify/options/").status_code == 200

    forged = {"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {}}
    response = client.post("/admin/mfa/passkeys/verify/", forged, content_type="application/json")

    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302
    assert AuditEvent.objects.filter(action="mfa.failed", target_id=str(agent.pk)).count() == 1
    # The challenge was single use: the same answer again has none to answer.
    again = client.post("/admin/mfa/passkeys/verify/", forged, content_type="application/json")
    assert again.status_code == 400


def test_passkey_routes_need_the_password_step_or_a_verified_session(agency_a, staff_of):
    agent = staff_of(agency_a)
    client = console()
    client.force_login(agent)  # not verified

    assert client.get("/admin/mfa/passkeys/new/options/").status_code == 302
    assert client.get("/admin/mfa/passkeys/verify/options/").status_code == 400


def test_a_reset_removes_passkeys_too(agency_a, staff_of):
    admin, agent = staff_of(agency_a, Role.AGENCY_ADMIN), staff_of(agency_a)
    totp_device_for(agent)
    PasskeyDevice.objects.create(
        user=agent, name="passkey", rp_id=HOST_A, credential_id="BBBB", public_key=b"x"
    )
    admin_console = console()
    otp_login(admin_console, admin)

    admin_console.post(f"/admin/mfa/staff/{agent.pk}/reset/")

    assert not PasskeyDevice.objects.filter(user=agent).exists()


def test_new_recovery_codes_replace_the_old_ones(api, agency_a, staff_of):
    agent = staff_of(agency_a)
    client = console()
    otp_login(client, agent)
    first = re.findall(r"<li>([a-z2-9-]{11})</li>", client.post("/admin/mfa/").content.decode())
    second = re.findall(r"<li>([a-z2-9-]{11})</li>", client.post("/admin/mfa/").content.decode())

    assert len(first) == len(second) == 10
    assert not set(first) & set(second)
    body = {"login": agent.email, "password": PASSWORD, "portal": "staff"}
    assert api(HOST_A).post("/api/v1/auth/token/", {**body, "otp": first[0]}).status_code == 401
    assert api(HOST_A).post("/api/v1/auth/token/", {**body, "otp": second[0]}).status_code == 200
    regenerated = AuditEvent.objects.filter(
        action="mfa.recovery_codes_regenerated", target_id=str(agent.pk)
    )
    assert regenerated.count() == 2
