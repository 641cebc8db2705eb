"""The second factor of staff and platform administrators, through the API.

Real PostgreSQL and the real hot-key store (LMDB): the attempt limit, the two-step sign-in,
recovery codes spent once, tokens without ``amr`` refused, resets across agencies.
"""

from __future__ import annotations

import jwt
import pytest
from django.test import override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import schema_context
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from apps.accounts.mfa.models import RecoveryCode
from apps.accounts.mfa.services import totp_enrolment_begin, totp_enrolment_confirm
from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind
from apps.audit.models import AuditEvent
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST
from tests.factories import PASSWORD
from tests.helpers import assert_problem, totp_device_for, totp_now

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
TOKEN_MFA = "/api/v1/auth/token/mfa/"
REFRESH = "/api/v1/auth/token/refresh/"
STAFF_ME = "/api/v1/staff/me/"
STAFF_RESET = "/api/v1/staff/second-factor/reset/"
PLATFORM_RESET = "/api/v1/platform/second-factor/reset/"


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def staff_sign_in(api, user, host=HOST_A, **extra):
    body = {"login": user.email, "password": PASSWORD, "portal": "staff", **extra}
    return api(host).post(TOKEN, body)


def enrolled(user) -> list[str]:
    """Enrol ``user`` as the console does; returns their recovery codes."""
    device = totp_enrolment_begin(user=user)
    _device, codes = totp_enrolment_confirm(user=user, device_id=device.pk, code=totp_now(device))
    return codes


# --- sign-in ------------------------------------------------------------------------------------


def test_a_staff_password_alone_gets_a_challenge_not_tokens(api, agency_a, staff_of):
    agent = staff_of(agency_a)
    totp_device_for(agent)
    before = OutstandingToken.objects.count()

    response = staff_sign_in(api, agent)

    body = assert_problem(response, 403, "mfa_required")
    assert body["mfa_token"]
    assert body["expires_in"] == 300
    assert body["methods"] == ["totp", "recovery_code"]
    assert OutstandingToken.objects.count() == before  # nothing issued


def test_the_challenge_and_a_code_give_tokens_that_say_so(api, agency_a, staff_of):
    agent = staff_of(agency_a, Role.SUPERVISOR)
    device = totp_device_for(agent)
    challenge = staff_sign_in(api, agent).json()["mfa_token"]

    wrong = api(HOST_A).post(TOKEN_MFA, {"mfa_token": challenge, "otp": "000000"})
    body = assert_problem(wrong, 401, "mfa_invalid")
    assert body["attempts_left"] == 4
    ok = api(HOST_A).post(TOKEN_MFA, {"mfa_token": challenge, "otp": totp_now(device)})

    assert ok.status_code == 200, ok.content
    access = ok.json()["access"]
    assert claims(access)["amr"] == ["pwd", "otp", "mfa"]
    assert claims(access)["role"] == "supervisor"
    assert api(HOST_A, access).get(STAFF_ME).status_code == 200
    again = api(HOST_A).post(
        TOKEN_MFA, {"mfa_token": challenge, "otp": totp_now(device, step_offset=1)}
    )
    assert_problem(again, 401, "mfa_token_invalid")  # spent
    assert AuditEvent.objects.filter(
        action="auth.login", changes__amr__new=["pwd", "otp", "mfa"]
    ).exists()


def test_a_challenge_of_agency_a_is_unknown_on_agency_b(api, agency_a, agency_b, staff_of):
    agent = staff_of(agency_a)
    staff_of_b = agent.memberships.create(agency=agency_b, role=Role.AGENT)
    device = totp_device_for(agent)
    challenge = staff_sign_in(api, agent).json()["mfa_token"]

    response = api(HOST_B).post(TOKEN_MFA, {"mfa_token": challenge, "otp": totp_now(device)})

    assert_problem(response, 401, "mfa_token_invalid")
    assert staff_of_b.is_active  # a member there too: still refused


def test_password_and_code_in_one_request(api, agency_a, staff_of):
    agent = staff_of(agency_a)
    device = totp_device_for(agent)

    response = staff_sign_in(api, agent, otp=totp_now(device))

    assert response.status_code == 200, response.content
    assert claims(response.json()["access"])["amr"] == ["pwd", "otp", "mfa"]


def test_a_code_is_accepted_once(api, agency_a, staff_of):
    agent = staff_of(agency_a)
    code = totp_now(totp_device_for(agent))
    assert staff_sign_in(api, agent, otp=code).status_code == 200

    assert_problem(staff_sign_in(api, agent, otp=code), 401, "mfa_invalid")


def test_a_person_without_an_authenticator_is_sent_to_enrol(api, agency_a, staff_of):
    agent = staff_of(agency_a)
    before = OutstandingToken.objects.count()

    assert_problem(staff_sign_in(api, agent), 403, "mfa_enrolment_required")
    assert_problem(staff_sign_in(api, agent, otp="123456"), 403, "mfa_enrolment_required")
    assert OutstandingToken.objects.count() == before


def test_the_wrong_password_says_nothing_of_the_second_factor(api, agency_a, staff_of):
    agent = staff_of(agency_a)
    response = api(HOST_A).post(
        TOKEN, {"login": agent.email, "password": "pas le bon", "portal": "staff"}
    )
    assert_problem(response, 401, "invalid_credentials")


def test_platform_sign_in_needs_the_second_factor_too(api, platform_admin):
    device = totp_device_for(platform_admin)
    body = {"login": platform_admin.email, "password": PASSWORD, "portal": "platform"}

    assert_problem(api(PUBLIC_HOST).post(TOKEN, body), 403, "mfa_required")
    ok = api(PUBLIC_HOST).post(TOKEN, {**body, "otp": totp_now(device)})
    assert ok.status_code == 200
    assert claims(ok.json()["access"])["amr"] == ["pwd", "otp", "mfa"]


def test_citizens_are_not_affected(api, citizen):
    response = api(HOST_A).post(TOKEN, {"login": citizen.email, "password": PASSWORD})

    assert response.status_code == 200
    access = response.json()["access"]
    assert claims(access)["amr"] == ["pwd"]
    assert api(HOST_A, access).get("/api/v1/me/").status_code == 200


@override_settings(MFA_MAX_FAILURES=3)
def test_wrong_codes_lock_the_second_factor_console_and_api_alike(api, agency_a, staff_of):
    agent = staff_of(agency_a)
    device = totp_device_for(agent)
    lefts = [
        assert_problem(staff_sign_in(api, agent, otp="000000"), 401, "mfa_invalid")["attempts_left"]
        for _ in range(3)
    ]

    locked = staff_sign_in(api, agent, otp=totp_now(device))  # even the right code

    assert lefts == [2, 1, 0]
    body = assert_problem(locked, 429, "mfa_locked")
    assert 0 < int(locked["Retry-After"]) <= 900
    assert body["retry_after"] > 0
    assert AuditEvent.objects.filter(action="mfa.locked", target_id=str(agent.pk)).count() == 1
    assert AuditEvent.objects.filter(action="mfa.failed", target_id=str(agent.pk)).count() == 3


def test_the_limit_is_per_person(api, agency_a, staff_of):
    agent, other = staff_of(agency_a), staff_of(agency_a)
    totp_device_for(agent)
    for _ in range(5):
        staff_sign_in(api, agent, otp="000000")

    assert staff_sign_in(api, other, otp=totp_now(totp_device_for(other))).status_code == 200


# --- recovery codes -----------------------------------------------------------------------------


def test_recovery_codes_are_stored_hashed_and_work_once(api, agency_a, staff_of):
    agent = staff_of(agency_a)
    codes = enrolled(agent)

    assert len(codes) == 10
    assert len(set(codes)) == 10
    stored = list(
        RecoveryCode.objects.filter(device__user=agent).values_list("code_hash", flat=True)
    )
    assert len(stored) == 10
    assert not {code.replace("-", "") for code in codes} & set(stored)
    assert all(code not in hashed for code in codes for hashed in stored)

    first = staff_sign_in(api, agent, otp=codes[0])
    assert first.status_code == 200, first.content
    assert claims(first.json()["access"])["amr"] == ["pwd", "otp", "mfa"]
    replay = staff_sign_in(api, agent, otp=codes[0])
    assert_problem(replay, 401, "mfa_invalid")
    spaced = codes[1].upper().replace("-", " ")  # as a person may type it
    assert staff_sign_in(api, agent, otp=spaced).status_code == 200
    used = AuditEvent.objects.filter(action="mfa.recovery_code_used", target_id=str(agent.pk))
    assert used.count() == 2
    assert "mfa.enrolled" in AuditEvent.objects.filter(target_id=str(agent.pk)).values_list(
        "action", flat=True
    )


def test_another_persons_recovery_code_is_refused(api, agency_a, staff_of):
    agent, other = staff_of(agency_a), staff_of(agency_a)
    enrolled(agent)
    codes_of_other = enrolled(other)

    assert_problem(staff_sign_in(api, agent, otp=codes_of_other[0]), 401, "mfa_invalid")


# --- tokens without the second factor ------------------------------------------------------------


def test_a_staff_token_without_the_second_factor_opens_nothing(api, agency_a, staff_of, tokens):
    agent = staff_of(agency_a)
    password_only = tokens(agent, TokenKind.STAFF, agency=agency_a, role="agent", amr=["pwd"])
    no_amr = tokens(agent, TokenKind.STAFF, agency=agency_a, role="agent", amr=[])

    for access in (password_only.access, no_amr.access):
        assert_problem(api(HOST_A, access).get(STAFF_ME), 403, "mfa_required")
        assert_problem(api(HOST_A, access).get("/api/v1/applications/"), 403, "mfa_required")
        assert_problem(api(HOST_A, access).get("/api/v1/me/"), 403, "mfa_required")


def test_a_platform_token_without_the_second_factor_opens_nothing(api, platform_admin, tokens):
    access = tokens(platform_admin, TokenKind.PLATFORM, amr=["pwd"]).access

    assert_problem(api(PUBLIC_HOST, access).get("/api/v1/platform/agencies/"), 403, "mfa_required")


def test_a_refresh_keeps_the_second_factor_of_the_sign_in(api, agency_a, staff_of):
    agent = staff_of(agency_a)
    signed_in = staff_sign_in(api, agent, otp=totp_now(totp_device_for(agent))).json()

    rotated = api(HOST_A).post(REFRESH, {"refresh": signed_in["refresh"]})

    assert rotated.status_code == 200
    assert claims(rotated.json()["access"])["amr"] == ["pwd", "otp", "mfa"]
    assert api(HOST_A, rotated.json()["access"]).get(STAFF_ME).status_code == 200


def test_a_refresh_of_a_password_only_staff_token_stays_refused(api, agency_a, staff_of, tokens):
    agent = staff_of(agency_a)
    old = tokens(agent, TokenKind.STAFF, agency=agency_a, role="agent", amr=["pwd"])

    rotated = api(HOST_A).post(REFRESH, {"refresh": old.refresh})

    assert rotated.status_code == 200
    assert_problem(api(HOST_A, rotated.json()["access"]).get(STAFF_ME), 403, "mfa_required")


# --- resetting a lost device -------------------------------------------------------------------


def test_an_agency_admin_resets_an_agents_lost_device(api, agency_a, staff_of, tokens):
    admin, agent = staff_of(agency_a, Role.AGENCY_ADMIN), staff_of(agency_a)
    enrolled(agent)
    agent_token = tokens(agent, TokenKind.STAFF, agency=agency_a, role="agent").access
    admin_token = tokens(admin, TokenKind.STAFF, agency=agency_a, role="agency_admin").access

    response = api(HOST_A, admin_token).post(STAFF_RESET, {"user": str(agent.pk)})

    assert response.status_code == 204, response.content
    assert not TOTPDevice.objects.filter(user=agent).exists()
    assert not RecoveryCode.objects.filter(device__user=agent).exists()
    assert_problem(api(HOST_A, agent_token).get(STAFF_ME), 401, "token_revoked")
    assert_problem(staff_sign_in(api, agent), 403, "mfa_enrolment_required")
    with schema_context(agency_a.schema_name):
        event = AuditEvent.objects.get(action="mfa.reset")
    assert event.target_id == str(agent.pk)
    assert event.actor_id == str(admin.pk)


def test_the_admin_must_have_passed_their_own_second_factor(api, agency_a, staff_of, tokens):
    admin, agent = staff_of(agency_a, Role.AGENCY_ADMIN), staff_of(agency_a)
    enrolled(agent)
    weak = tokens(admin, TokenKind.STAFF, agency=agency_a, role="agency_admin", amr=["pwd"])

    response = api(HOST_A, weak.access).post(STAFF_RESET, {"user": str(agent.pk)})

    assert_problem(response, 403, "mfa_required")
    assert TOTPDevice.objects.filter(user=agent).exists()


def test_who_may_reset_whom(api, agency_a, agency_b, staff_of, tokens, platform_admin):
    admin_a, other_admin_a = (
        staff_of(agency_a, Role.AGENCY_ADMIN),
        staff_of(agency_a, Role.AGENCY_ADMIN),
    )
    agent_a, supervisor_a = staff_of(agency_a), staff_of(agency_a, Role.SUPERVISOR)
    admin_b = staff_of(agency_b, Role.AGENCY_ADMIN)
    for person in (other_admin_a, agent_a):
        enrolled(person)
    as_admin_a = api(
        HOST_A, tokens(admin_a, TokenKind.STAFF, agency=agency_a, role="agency_admin").access
    )
    as_supervisor = api(
        HOST_A, tokens(supervisor_a, TokenKind.STAFF, agency=agency_a, role="supervisor").access
    )
    as_admin_b = api(
        HOST_B, tokens(admin_b, TokenKind.STAFF, agency=agency_b, role="agency_admin").access
    )
    b_token_on_a = api(
        HOST_A, tokens(admin_b, TokenKind.STAFF, agency=agency_b, role="agency_admin").access
    )

    # Another agency's admin: the person does not exist there (404), its token not here (401).
    assert_problem(as_admin_b.post(STAFF_RESET, {"user": str(agent_a.pk)}), 404, "not_found")
    assert_problem(
        b_token_on_a.post(STAFF_RESET, {"user": str(agent_a.pk)}), 401, "token_wrong_agency"
    )
    # Not an admin; an admin for another admin or for themselves: refused.
    assert_problem(
        as_supervisor.post(STAFF_RESET, {"user": str(agent_a.pk)}), 403, "permission_denied"
    )
    assert_problem(
        as_admin_a.post(STAFF_RESET, {"user": str(other_admin_a.pk)}), 403, "mfa_reset_not_allowed"
    )
    assert_problem(
        as_admin_a.post(STAFF_RESET, {"user": str(admin_a.pk)}), 403, "mfa_reset_not_allowed"
    )
    assert_problem(as_admin_a.post(STAFF_RESET, {"user": str(platform_admin.pk)}), 404, "not_found")
    assert TOTPDevice.objects.filter(user__in=[agent_a, other_admin_a]).count() == 2

    # A platform administrator resets the agency admin (public host).
    as_platform = api(PUBLIC_HOST, tokens(platform_admin, TokenKind.PLATFORM).access)
    assert as_platform.post(PLATFORM_RESET, {"user": str(other_admin_a.pk)}).status_code == 204
    assert not TOTPDevice.objects.filter(user=other_admin_a).exists()
    assert AuditEvent.objects.filter(action="mfa.reset", target_id=str(other_admin_a.pk)).exists()
    # The platform route does not exist on agency hosts.
    assert as_admin_a.post(PLATFORM_RESET, {"user": str(agent_a.pk)}).status_code == 404
