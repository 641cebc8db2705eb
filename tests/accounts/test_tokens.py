"""Tokens: kinds, agency binding, rotation, revocation, and every malformed variant."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from apps.accounts.keyring import keyring_signing_key
from apps.accounts.models import Membership, Role
from apps.accounts.tokens import TokenKind
from apps.audit.models import AuditEvent
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST
from tests.factories import PASSWORD
from tests.helpers import assert_problem, totp_device_for, totp_now

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_citizen_signs_in_by_email_or_phone(api, citizen):
    before = AuditEvent.objects.filter(action="auth.login", outcome="success").count()
    by_email = api(PUBLIC_HOST).post(TOKEN, {"login": citizen.email, "password": PASSWORD})
    by_phone = api(HOST_A).post(TOKEN, {"login": "90 00 00 01", "password": PASSWORD})

    for response in (by_email, by_phone):
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["kind"] == "citizen"
        assert body["agency"] is None
        assert body["token_type"] == "Bearer"
        decoded = claims(body["access"])
        assert decoded["iss"] == settings.SIMPLE_JWT["ISSUER"]
        assert decoded["aud"] == settings.SIMPLE_JWT["AUDIENCE"]
        assert decoded["sub"] == str(citizen.id)
        assert "agency" not in decoded
    assert AuditEvent.objects.filter(action="auth.login", outcome="success").count() == before + 2


@pytest.mark.parametrize("login", ["citoyen@example.tg", "nobody@example.tg", "+22899999999", "??"])
def test_wrong_credentials_are_401_alike_and_audited_as_denied(api, citizen, login):
    response = api().post(TOKEN, {"login": login, "password": "wrong-password"})

    body = assert_problem(response, 401, "invalid_credentials")
    assert "exist" not in body["detail"].lower()
    assert AuditEvent.objects.filter(action="auth.login", outcome="denied").count() == 1


def test_inactive_account_cannot_sign_in(api, citizen):
    citizen.is_active = False
    citizen.save()

    assert_problem(
        api().post(TOKEN, {"login": citizen.email, "password": PASSWORD}),
        401,
        "invalid_credentials",
    )


def test_citizen_token_works_on_every_agency_and_the_public_host(api, citizen, tokens):
    access = tokens(citizen).access

    for host in (PUBLIC_HOST, HOST_A, HOST_B):
        response = api(host, access).get("/api/v1/me/")
        assert response.status_code == 200, (host, response.content)
        assert response.json()["id"] == str(citizen.id)


def test_citizen_token_is_refused_on_staff_endpoints(api, citizen, tokens):
    response = api(HOST_A, tokens(citizen).access).get("/api/v1/staff/me/")

    assert_problem(response, 403, "permission_denied")


def test_staff_token_is_bound_to_its_agency(api, agency_a, staff_of):
    agent = staff_of(agency_a, Role.SUPERVISOR)
    otp = totp_now(totp_device_for(agent))
    response = api(HOST_A).post(
        TOKEN, {"login": agent.email, "password": PASSWORD, "portal": "staff", "otp": otp}
    )
    assert response.status_code == 200, response.content
    access = response.json()["access"]
    decoded = claims(access)
    assert decoded["kind"] == "staff"
    assert decoded["agency"] == agency_a.schema_name
    assert decoded["role"] == "supervisor"

    mine = api(HOST_A, access).get("/api/v1/staff/me/")
    assert mine.status_code == 200
    assert mine.json() == {"agency": "agence-a", "agency_name": "Agence A", "role": "supervisor"}

    elsewhere = api(HOST_B, access).get("/api/v1/staff/me/")
    assert_problem(elsewhere, 401, "token_wrong_agency")
    assert_problem(api(HOST_B, access).get("/api/v1/me/"), 401, "token_wrong_agency")
    assert_problem(api(PUBLIC_HOST, access).get("/api/v1/me/"), 401, "token_wrong_agency")


def test_staff_portal_needs_a_membership_of_this_agency(api, agency_a, staff_of):
    agent = staff_of(agency_a)

    response = api(HOST_B).post(
        TOKEN, {"login": agent.email, "password": PASSWORD, "portal": "staff"}
    )

    assert_problem(response, 403, "not_agency_staff")
    assert AuditEvent.objects.filter(action="auth.login", outcome="denied").exists()


def test_platform_portal_is_for_platform_admins_on_the_public_host(api, platform_admin, citizen):
    otp = totp_now(totp_device_for(platform_admin))
    ok = api(PUBLIC_HOST).post(
        TOKEN,
        {"login": platform_admin.email, "password": PASSWORD, "portal": "platform", "otp": otp},
    )
    assert ok.status_code == 200
    assert claims(ok.json()["access"])["agency"] == "public"

    on_agency = api(HOST_A).post(
        TOKEN, {"login": platform_admin.email, "password": PASSWORD, "portal": "platform"}
    )
    assert_problem(on_agency, 403, "not_platform_admin")
    not_admin = api(PUBLIC_HOST).post(
        TOKEN, {"login": citizen.email, "password": PASSWORD, "portal": "platform"}
    )
    assert_problem(not_admin, 403, "not_platform_admin")


def _signed(payload: dict, key: Any = None, algorithm: str = "EdDSA") -> str:
    """Signed with the ring's active key and named by its kid, unless another key is given."""
    active = keyring_signing_key()
    return jwt.encode(
        payload, key or active.private_key, algorithm=algorithm, headers={"kid": active.kid}
    )


def _base_claims(user, **extra) -> dict:
    now = dt.datetime.now(dt.UTC)
    return {
        "token_type": "access",
        "exp": now + dt.timedelta(minutes=5),
        "iat": now,
        "jti": "abc",
        "sub": str(user.id),
        "kind": "citizen",
        "iss": settings.SIMPLE_JWT["ISSUER"],
        "aud": settings.SIMPLE_JWT["AUDIENCE"],
        **extra,
    }


def test_a_well_formed_hand_made_token_is_accepted(api, citizen):
    """Control for the cases below: only the one altered claim makes them fail."""
    assert api(HOST_A, _signed(_base_claims(citizen))).get("/api/v1/me/").status_code == 200


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda u: _signed(_base_claims(u, exp=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))),
            id="expired",
        ),
        pytest.param(
            lambda u: _signed(_base_claims(u), key=Ed25519PrivateKey.generate()), id="forged"
        ),
        pytest.param(
            lambda u: _signed(
                _base_claims(u), key="another-key-entirely-000000000000", algorithm="HS256"
            ),
            id="hs256-with-a-known-kid",
        ),
        pytest.param(
            lambda u: jwt.encode(_base_claims(u), Ed25519PrivateKey.generate(), algorithm="EdDSA"),
            id="no-kid",
        ),
        pytest.param(lambda u: _signed(_base_claims(u, aud="someone-else")), id="wrong-audience"),
        pytest.param(lambda u: _signed(_base_claims(u, iss="someone-else")), id="wrong-issuer"),
        pytest.param(
            lambda u: _signed(_base_claims(u, token_type="refresh")), id="refresh-as-access"
        ),
        pytest.param(lambda u: _signed(_base_claims(u, kind="wizard")), id="unknown-kind"),
        pytest.param(lambda u: _signed(_base_claims(u, kind=None)), id="no-kind"),
        pytest.param(
            lambda u: _signed(_base_claims(u, kind="staff", agency="agence_b")), id="other-agency"
        ),
        pytest.param(
            lambda u: jwt.encode(_base_claims(u), key="", algorithm="none"), id="alg-none"
        ),
        pytest.param(lambda u: "not.a.token", id="garbage"),
        pytest.param(lambda u: "WzFd.e30.c2ln", id="header-not-an-object"),
        pytest.param(lambda u: "////.e30.c2ln", id="header-not-base64url"),
    ],
)
def test_bad_tokens_are_401_and_write_nothing(api, citizen, make):
    # Counted as differences: committed tests (real races) leave append-only events behind.
    before = AuditEvent.objects.exclude(action="access.denied").count()
    denied_before = AuditEvent.objects.filter(action="access.denied", outcome="denied").count()

    response = api(HOST_A, make(citizen)).patch("/api/v1/me/", {"first_name": "X"}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] in (
        "token_invalid",
        "token_wrong_agency",
        "authentication_failed",
    )
    citizen.refresh_from_db()
    assert citizen.first_name == "Afi"
    assert AuditEvent.objects.exclude(action="access.denied").count() == before
    # Only the refused attempt itself is recorded, once, in the platform trail.
    denied = AuditEvent.objects.filter(action="access.denied", outcome="denied").count()
    assert denied == denied_before + 1


def test_real_refresh_token_is_refused_as_access(api, citizen, tokens):
    response = api(HOST_A, tokens(citizen).refresh).get("/api/v1/me/")

    assert_problem(response, 401, "token_invalid")


def test_token_of_an_unknown_user_is_refused(api, citizen):
    token = _signed(_base_claims(citizen, sub="00000000-0000-4000-8000-000000000000"))

    assert api(HOST_A, token).get("/api/v1/me/").status_code == 401


def test_refresh_rotates_and_blacklists_the_old_token(api, citizen, tokens):
    issued = tokens(citizen)

    first = api(HOST_A).post(REFRESH, {"refresh": issued.refresh}, format="json")
    assert first.status_code == 200, first.content
    assert first.json()["refresh"] != issued.refresh
    assert api(HOST_A, first.json()["access"]).get("/api/v1/me/").status_code == 200

    replay = api(HOST_A).post(REFRESH, {"refresh": issued.refresh}, format="json")
    assert_problem(replay, 401, "refresh_token_rotated")


def test_staff_refresh_is_bound_to_the_agency_and_the_membership(api, agency_a, staff_of, tokens):
    agent = staff_of(agency_a)
    issued = tokens(agent, TokenKind.STAFF, agency=agency_a, role="agent")

    assert_problem(
        api(HOST_B).post(REFRESH, {"refresh": issued.refresh}), 401, "token_wrong_agency"
    )

    Membership.objects.filter(user=agent).update(is_active=False)
    assert_problem(
        api(HOST_A).post(REFRESH, {"refresh": issued.refresh}), 401, "membership_revoked"
    )


def test_refresh_of_a_deactivated_user_is_refused(api, citizen, tokens):
    issued = tokens(citizen)
    citizen.is_active = False
    citizen.save()

    assert_problem(api().post(REFRESH, {"refresh": issued.refresh}), 401, "token_invalid")


def test_refresh_with_unknown_kind_is_refused(api, citizen):
    refresh = RefreshToken.for_user(citizen)
    refresh["kind"] = "wizard"

    assert_problem(api().post(REFRESH, {"refresh": str(refresh)}), 401, "token_invalid")


def test_refresh_garbage_is_401(api):
    assert_problem(api().post(REFRESH, {"refresh": "nope"}), 401, "token_invalid")


def test_logout_revokes_the_refresh_token(api, citizen, tokens):
    issued = tokens(citizen)

    response = api(HOST_A, issued.access).post(LOGOUT, {"refresh": issued.refresh}, format="json")

    assert response.status_code == 204
    assert_problem(api().post(REFRESH, {"refresh": issued.refresh}), 401, "token_invalid")
    assert AuditEvent.objects.filter(action="auth.logout", target_id=str(citizen.id)).exists()


def test_logout_with_someone_elses_refresh_is_400(api, citizen, other_citizen, tokens):
    mine, theirs = tokens(citizen), tokens(other_citizen)

    response = api(HOST_A, mine.access).post(LOGOUT, {"refresh": theirs.refresh}, format="json")

    assert_problem(response, 400, "token_not_yours")
    assert api().post(REFRESH, {"refresh": theirs.refresh}).status_code == 200


def test_logout_needs_authentication(api, citizen, tokens):
    assert_problem(
        api().post(LOGOUT, {"refresh": tokens(citizen).refresh}), 401, "not_authenticated"
    )


def test_access_token_lifetime_is_short(citizen, tokens):
    access = AccessToken(tokens(citizen).access)

    assert access["exp"] - access["iat"] <= 15 * 60
