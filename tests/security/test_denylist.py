"""Access-token denylist: logout revokes the access token used; checked on every request."""

from __future__ import annotations

import time

import jwt
import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from apps.accounts import denylist
from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind, issue_partner_token
from apps.hotkeys.base import decode_expiry
from apps.hotkeys.keys import hot_key
from apps.hotkeys.registry import get_store
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

LOGOUT = "/api/v1/auth/logout/"
REFRESH = "/api/v1/auth/token/refresh/"
ME = "/api/v1/me/"


def jti(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["jti"]


def test_logout_revokes_the_access_token_on_every_host(api, citizen, tokens):
    issued = tokens(citizen)
    assert api(HOST_A, issued.access).get(ME).status_code == 200

    response = api(HOST_A, issued.access).post(LOGOUT, {"refresh": issued.refresh})

    assert response.status_code == 204
    for host in (PUBLIC_HOST, HOST_A, HOST_B):
        assert_problem(api(host, issued.access).get(ME), 401, "token_revoked")
    assert_problem(api().post(REFRESH, {"refresh": issued.refresh}), 401, "token_invalid")


def test_logout_leaves_the_other_sessions_alone(api, citizen, tokens):
    phone, laptop = tokens(citizen), tokens(citizen)

    api(PUBLIC_HOST, phone.access).post(LOGOUT, {"refresh": phone.refresh})

    assert api(PUBLIC_HOST, laptop.access).get(ME).status_code == 200


def test_logout_of_someone_else_revokes_nothing(api, citizen, other_citizen, tokens):
    mine, theirs = tokens(citizen), tokens(other_citizen)

    response = api(PUBLIC_HOST, mine.access).post(LOGOUT, {"refresh": theirs.refresh})

    assert_problem(response, 400, "token_not_yours")
    assert api(PUBLIC_HOST, mine.access).get(ME).status_code == 200
    assert get_store().get(hot_key("public", "denylist", jti(mine.access))) is None


def test_denylist_entry_lives_as_long_as_the_token(api, citizen, tokens):
    issued = tokens(citizen)
    api(PUBLIC_HOST, issued.access).post(LOGOUT, {"refresh": issued.refresh})

    entry = hot_key("public", "denylist", jti(issued.access))
    assert get_store().get(entry) == b""
    [(_, raw)] = next(iter(get_store().iter_raw(entry)))

    exp = jwt.decode(issued.access, options={"verify_signature": False})["exp"]
    assert abs(decode_expiry(raw) / 1000 - (exp + 1)) < 2


def test_expired_tokens_need_no_entry():
    denylist.access_token_deny(jti="old", exp=time.time() - 5)

    assert get_store().get(hot_key("public", "denylist", "old")) is None


def test_entry_disappears_when_the_token_would_have_expired():
    denylist.access_token_deny(jti="short", exp=time.time() + 0.2)
    assert denylist.token_is_revoked({"jti": "short"}, person=False)

    time.sleep(1.4)

    assert not denylist.token_is_revoked({"jti": "short"}, person=False)


def test_staff_logout_revokes_the_agency_bound_token(api, agency_a, staff_of, tokens):
    agent = staff_of(agency_a, Role.SUPERVISOR)
    issued = tokens(agent, TokenKind.STAFF, agency=agency_a, role=Role.SUPERVISOR)
    assert api(HOST_A, issued.access).get("/api/v1/staff/me/").status_code == 200

    api(HOST_A, issued.access).post(LOGOUT, {"refresh": issued.refresh})

    assert_problem(api(HOST_A, issued.access).get("/api/v1/staff/me/"), 401, "token_revoked")


def test_a_denylisted_partner_token_is_refused(api, agency_a):
    token = issue_partner_token(
        client_uuid="0b8c5f6e-1d4b-4a53-9a4e-0d3f7f7f7f7f",
        client_id="pc_test",
        agency="agence_a",
        scopes=[],
    ).access
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    assert api(HOST_A, token).get("/api/v1/staff/me/").status_code == 403  # known, not staff

    denylist.access_token_deny(jti=jti(token), exp=exp)

    assert_problem(api(HOST_A, token).get("/api/v1/staff/me/"), 401, "token_revoked")


def test_store_down_refuses_every_token_with_503(api, citizen, tokens, unreachable_store):
    issued = tokens(citizen)

    for host in (PUBLIC_HOST, HOST_A):
        assert_problem(api(host, issued.access).get(ME), 503, "service_unavailable")


def test_store_down_leaves_anonymous_endpoints_working(api, unreachable_store):
    """Only security checks fail closed; sign-up has none (its throttles fail open)."""
    response = api(PUBLIC_HOST).post(
        "/api/v1/auth/register/",
        {"email": "panne@example.tg", "password": "une-longue-phrase-secrete"},
    )

    assert response.status_code == 201


def test_logout_with_the_store_down_revokes_nothing(api, citizen, tokens, tmp_path):
    from tests.security.helpers import unreachable_hotkeys

    issued = tokens(citizen)
    with unreachable_hotkeys(tmp_path):
        response = api(PUBLIC_HOST, issued.access).post(LOGOUT, {"refresh": issued.refresh})

    assert_problem(response, 503, "service_unavailable")
    assert not BlacklistedToken.objects.exists()
    assert api(PUBLIC_HOST, issued.access).get(ME).status_code == 200  # retry possible


def test_logout_service_denylists_before_blacklisting(citizen, tokens, tmp_path):
    from apps.accounts.services import token_revoke
    from apps.hotkeys.base import StoreUnavailable
    from tests.security.helpers import unreachable_hotkeys

    issued = tokens(citizen)
    claims = jwt.decode(issued.access, options={"verify_signature": False})
    with unreachable_hotkeys(tmp_path), pytest.raises(StoreUnavailable):
        token_revoke(
            user=citizen,
            raw_refresh=issued.refresh,
            access_jti=claims["jti"],
            access_exp=claims["exp"],
        )
    assert not BlacklistedToken.objects.exists()


def test_a_token_without_subject_is_only_checked_by_jti():
    assert not denylist.token_is_revoked({"jti": "anything"})
