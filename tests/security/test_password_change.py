"""POST /api/v1/me/password/: change the password, revoke every token the person holds."""

from __future__ import annotations

import time

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken

from apps.accounts.tokens import TokenKind, issue_partner_token
from apps.audit.models import AuditEvent
from tests.conftest import HOST_A, PUBLIC_HOST
from tests.factories import PASSWORD
from tests.helpers import assert_problem
from tests.security.helpers import with_rates

pytestmark = pytest.mark.django_db

PASSWORD_URL = "/api/v1/me/password/"
NEW = "une-toute-nouvelle-phrase"
ME = "/api/v1/me/"


def older(access: str, seconds: int = 30) -> str:
    """The same access token as if it had been issued ``seconds`` ago (re-signed)."""
    token = AccessToken(access)
    token.payload["iat"] = int(time.time()) - seconds
    return str(token)


def change(api, access: str, current: str = PASSWORD, new: str = NEW, host: str = PUBLIC_HOST):
    return api(host, access).post(
        PASSWORD_URL, {"current_password": current, "new_password": new}, format="json"
    )


def test_password_change_revokes_every_token_of_the_person(api, citizen, other_citizen, tokens):
    session, other_session = tokens(citizen), tokens(citizen)
    earlier_access = older(other_session.access)
    someone_else = tokens(other_citizen)

    response = change(api, session.access)

    assert response.status_code == 204
    citizen.refresh_from_db()
    assert citizen.check_password(NEW)
    assert_problem(api(PUBLIC_HOST, session.access).get(ME), 401, "token_revoked")
    assert_problem(api(HOST_A, earlier_access).get(ME), 401, "token_revoked")
    for refresh in (session.refresh, other_session.refresh):
        assert_problem(
            api().post("/api/v1/auth/token/refresh/", {"refresh": refresh}), 401, "token_invalid"
        )
    outstanding = OutstandingToken.objects.filter(user=citizen).count()
    assert BlacklistedToken.objects.filter(token__user=citizen).count() == outstanding == 2
    assert api(PUBLIC_HOST, someone_else.access).get(ME).status_code == 200
    assert not BlacklistedToken.objects.filter(token__user=other_citizen).exists()


def test_password_change_is_audited_without_the_passwords(api, citizen, tokens):
    change(api, tokens(citizen).access)

    [event] = AuditEvent.objects.filter(action="user.password_changed")
    assert (event.target_type, event.target_id) == ("user", str(citizen.id))
    assert event.changes == {"password": {"old": "[redacted]", "new": "[redacted]"}}
    assert PASSWORD not in str(event.changes)
    assert NEW not in str(event.changes)


def test_signing_in_again_after_the_change_works(api, citizen, tokens):
    change(api, tokens(citizen).access)

    old = api().post("/api/v1/auth/token/", {"login": citizen.email, "password": PASSWORD})
    new = api().post("/api/v1/auth/token/", {"login": citizen.email, "password": NEW})

    assert_problem(old, 401, "invalid_credentials")
    assert new.status_code == 200
    assert api(PUBLIC_HOST, new.json()["access"]).get(ME).status_code == 200


def test_wrong_current_password_changes_nothing(api, citizen, tokens):
    session = tokens(citizen)

    response = change(api, session.access, current="pas-le-bon-mot-de-passe")

    body = assert_problem(response, 400, "password_incorrect")
    assert "current_password" in body["errors"]
    citizen.refresh_from_db()
    assert citizen.check_password(PASSWORD)
    assert api(PUBLIC_HOST, session.access).get(ME).status_code == 200
    assert not AuditEvent.objects.filter(action="user.password_changed").exists()


@pytest.mark.parametrize(
    ("new", "code"), [("court", "validation_failed"), (PASSWORD, "password_unchanged")]
)
def test_new_password_must_be_acceptable(api, citizen, tokens, new, code):
    response = change(api, tokens(citizen).access, new=new)

    body = assert_problem(response, 400, code)
    assert "new_password" in body["errors"]
    citizen.refresh_from_db()
    assert citizen.check_password(PASSWORD)


def test_unknown_fields_are_refused(api, citizen, tokens):
    response = api(PUBLIC_HOST, tokens(citizen).access).post(
        PASSWORD_URL,
        {"current_password": PASSWORD, "new_password": NEW, "user": "someone"},
        format="json",
    )

    assert_problem(response, 400, "unknown_field")


def test_only_people_may_change_a_password(api, agency_a):
    partner = issue_partner_token(
        client_uuid="0b8c5f6e-1d4b-4a53-9a4e-0d3f7f7f7f7f",
        client_id="pc_test",
        agency="agence_a",
        scopes=[],
    ).access
    body = {"current_password": PASSWORD, "new_password": NEW}

    assert api(HOST_A).post(PASSWORD_URL, body, format="json").status_code == 401
    assert api(HOST_A, partner).post(PASSWORD_URL, body, format="json").status_code == 403


def test_staff_token_changes_the_password_on_its_agency(api, agency_a, staff_of, tokens):
    agent = staff_of(agency_a)
    session = tokens(agent, TokenKind.STAFF, agency=agency_a, role="agent")

    response = change(api, session.access, host=HOST_A)

    assert response.status_code == 204
    assert_problem(api(HOST_A, session.access).get("/api/v1/staff/me/"), 401, "token_revoked")


def test_password_change_is_throttled_per_person(api, settings, citizen, tokens):
    with_rates(settings, password="2/hour")
    access = tokens(citizen).access

    first = [change(api, access, current="faux-mot-de-passe-1").status_code for _ in range(2)]
    third = change(api, access)

    assert first == [400, 400]
    assert_problem(third, 429, "throttled")


def test_store_down_changes_nothing(api, citizen, tokens, tmp_path):
    from tests.security.helpers import unreachable_hotkeys

    session = tokens(citizen)
    with unreachable_hotkeys(tmp_path):
        response = change(api, session.access)

    assert_problem(response, 503, "service_unavailable")
    citizen.refresh_from_db()
    assert citizen.check_password(PASSWORD)
    assert not BlacklistedToken.objects.exists()


def test_store_down_in_the_service_rolls_the_password_back(citizen, tmp_path):
    from apps.accounts.services import user_change_password
    from apps.hotkeys.base import StoreUnavailable
    from tests.security.helpers import unreachable_hotkeys

    with unreachable_hotkeys(tmp_path), pytest.raises(StoreUnavailable):
        user_change_password(user=citizen, current_password=PASSWORD, new_password=NEW)

    citizen.refresh_from_db()
    assert citizen.check_password(PASSWORD)
    assert not AuditEvent.objects.filter(action="user.password_changed").exists()
