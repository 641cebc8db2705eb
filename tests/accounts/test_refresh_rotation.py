"""Refresh rotation: reuse detection by family (RFC 9700), the leeway, legacy tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from apps.accounts.mfa.services import AMR_PASSWORD_OTP
from apps.accounts.models import RefreshTokenRecord
from apps.accounts.tokens import FAMILY_CLAIM, TokenKind, issue_user_tokens
from apps.audit.models import AuditEvent
from tests.accounts.test_refresh_race import _me, _refresh
from tests.conftest import PUBLIC_HOST
from tests.helpers import assert_problem
from tests.security.helpers import unreachable_hotkeys

pytestmark = pytest.mark.django_db


def _family_revocations(person: Any) -> Any:
    return AuditEvent.objects.filter(action="auth.refresh_family_revoked", target_id=str(person.pk))


def _rotate(raw: str, host: str = PUBLIC_HOST) -> dict[str, Any]:
    response = _refresh(raw, host)
    assert response.status_code == 200, response.content
    return dict(response.json())


@override_settings(JWT_REFRESH_REUSE_LEEWAY_SECONDS=0)
def test_a_stolen_token_replayed_after_the_owner_refreshed_ends_both_sessions(citizen):
    first = issue_user_tokens(user=citizen, kind=TokenKind.CITIZEN)
    owner = _rotate(first.refresh)
    owner = _rotate(owner["refresh"])  # the family has three generations now
    elsewhere = issue_user_tokens(user=citizen, kind=TokenKind.CITIZEN)  # another sign-in

    assert_problem(_refresh(first.refresh), 401, "refresh_token_reused")

    assert _me(owner["access"]) == 401
    assert _me(first.access) == 401
    assert_problem(_refresh(owner["refresh"]), 401, "token_invalid")
    # Another sign-in of the same person is another family: untouched.
    assert _me(elsewhere.access) == 200
    assert _rotate(elsewhere.refresh)["access"]
    [event] = _family_revocations(citizen)
    assert event.changes["reason"]["new"] == "reuse"


@override_settings(JWT_REFRESH_REUSE_LEEWAY_SECONDS=0)
def test_the_thief_refreshing_first_loses_the_session_when_the_owner_comes_back(citizen):
    issued = issue_user_tokens(user=citizen, kind=TokenKind.CITIZEN)
    thief = _rotate(issued.refresh)

    assert_problem(_refresh(issued.refresh), 401, "refresh_token_reused")  # the owner

    assert _me(thief["access"]) == 401
    assert_problem(_refresh(thief["refresh"]), 401, "token_invalid")


def test_within_the_leeway_a_second_use_is_refused_and_revokes_nothing(citizen):
    issued = issue_user_tokens(user=citizen, kind=TokenKind.CITIZEN)
    new = _rotate(issued.refresh)

    assert_problem(_refresh(issued.refresh), 401, "refresh_token_rotated")

    assert _me(new["access"]) == 200
    assert not _family_revocations(citizen).exists()


def test_rotation_keeps_the_family_and_records_the_access_token(citizen):
    issued = issue_user_tokens(user=citizen, kind=TokenKind.CITIZEN)
    family = RefreshToken(issued.refresh)[FAMILY_CLAIM]  # type: ignore[arg-type]

    new = _rotate(issued.refresh)

    claims = RefreshToken(new["refresh"])  # type: ignore[arg-type]
    assert claims[FAMILY_CLAIM] == family
    record = RefreshTokenRecord.objects.get(outstanding__jti=claims["jti"])
    assert str(record.family) == family
    assert record.access_jti == AccessToken(new["access"])["jti"]  # type: ignore[arg-type]
    old_jti = RefreshToken(issued.refresh, verify=False)["jti"]  # type: ignore[arg-type]
    old = RefreshTokenRecord.objects.get(outstanding__jti=old_jti)
    assert old.rotated_at is not None


@override_settings(JWT_REFRESH_REUSE_LEEWAY_SECONDS=0)
def test_a_logged_out_token_presented_again_is_only_invalid(api, citizen):
    issued = issue_user_tokens(user=citizen, kind=TokenKind.CITIZEN)
    assert (
        api(PUBLIC_HOST, issued.access)
        .post("/api/v1/auth/logout/", {"refresh": issued.refresh}, format="json")
        .status_code
        == 204
    )

    assert_problem(_refresh(issued.refresh), 401, "token_invalid")
    assert not _family_revocations(citizen).exists()


def test_a_token_from_before_families_rotates_into_a_new_family(citizen):
    legacy = RefreshToken.for_user(citizen)  # recorded by simplejwt alone, no family claim
    legacy["kind"] = "citizen"

    new = _rotate(str(legacy))

    assert RefreshToken(new["refresh"])[FAMILY_CLAIM]  # type: ignore[arg-type]
    assert_problem(_refresh(str(legacy)), 401, "token_invalid")


def test_an_unrecorded_token_is_invalid(citizen):
    token = RefreshToken()
    token["sub"] = str(citizen.pk)
    token["kind"] = "citizen"

    assert_problem(_refresh(str(token)), 401, "token_invalid")


@override_settings(JWT_REFRESH_REUSE_LEEWAY_SECONDS=0)
def test_with_the_store_down_a_replay_is_refused_and_nothing_is_revoked(citizen, tmp_path: Path):
    issued = issue_user_tokens(user=citizen, kind=TokenKind.CITIZEN)
    new = _rotate(issued.refresh)

    with unreachable_hotkeys(tmp_path):
        assert_problem(_refresh(issued.refresh), 503, "service_unavailable")

    assert not _family_revocations(citizen).exists()
    assert_problem(_refresh(issued.refresh), 401, "refresh_token_reused")
    assert _me(new["access"]) == 401


def test_a_staff_refresh_keeps_the_agency_the_role_and_the_family(agency_a, staff_of):
    from tests.conftest import HOST_A

    agent = staff_of(agency_a)
    issued = issue_user_tokens(
        user=agent, kind=TokenKind.STAFF, agency="agence_a", role="agent", amr=AMR_PASSWORD_OTP
    )

    new = _rotate(issued.refresh, host=HOST_A)

    claims = AccessToken(new["access"])  # type: ignore[arg-type]
    assert (claims["agency"], claims["role"]) == ("agence_a", "agent")
    assert claims["amr"] == ["pwd", "otp", "mfa"]  # the sign-in's second factor is kept
    old_family = RefreshToken(issued.refresh, verify=False)[FAMILY_CLAIM]  # type: ignore[arg-type]
    assert claims[FAMILY_CLAIM] == old_family
