"""Lockout cannot be turned against citizens: the account budget bounds guessing from any number
of addresses, and a device that signed in before keeps signing in."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.devices import device_token_issue
from apps.accounts.services import user_change_password
from apps.audit.models import AuditEvent
from tests.conftest import PUBLIC_HOST
from tests.factories import PASSWORD
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
WRONG = "not-the-password"
N = 50  # LOCKOUT_ACCOUNT_DAILY_FAILURES, the bound stated in the README


def sign_in(login: str, password: str, *, ip: str, device: str | None = None) -> Any:
    body = {"login": login, "password": password}
    if device is not None:
        body["device_token"] = device
    return APIClient(HTTP_HOST=PUBLIC_HOST, REMOTE_ADDR=ip).post(TOKEN, body, format="json")


def _address(index: int) -> str:
    return f"10.{100 + index // 65536}.{index // 256 % 256}.{index % 256}"


def _password_checks() -> int:
    return AuditEvent.objects.filter(action="auth.login", outcome="denied").count()


@pytest.mark.slow
def test_a_thousand_addresses_test_at_most_n_passwords_and_the_owner_still_signs_in(
    citizen, settings
):
    assert settings.LOCKOUT_ACCOUNT_DAILY_FAILURES == N
    device = sign_in(citizen.email, PASSWORD, ip="192.0.2.10").json()["device_token"]

    answers = [sign_in(citizen.email, WRONG, ip=_address(i)).status_code for i in range(1000)]

    assert answers.count(401) == N  # passwords actually checked
    assert answers.count(429) == 1000 - N  # refused before any check
    assert _password_checks() == N
    # Without the budget, 1,000 addresses × 5 per address would have tested 5,000.
    # The owner's device signs in at the first correct try, from a new address or theirs.
    assert sign_in(citizen.email, PASSWORD, ip="198.51.100.7", device=device).status_code == 200
    assert sign_in(citizen.email, PASSWORD, ip=_address(3), device=device).status_code == 200
    # A device the account does not know waits for the budget window to end.
    assert_problem(sign_in(citizen.email, PASSWORD, ip="203.0.113.9"), 429, "account_locked")


def test_the_budget_is_counted_across_addresses(citizen, settings):
    settings.LOCKOUT_ACCOUNT_DAILY_FAILURES = 3
    for i in range(3):
        assert sign_in(citizen.email, WRONG, ip=_address(i)).status_code == 401

    refused = sign_in(citizen.email, PASSWORD, ip=_address(9))

    body = assert_problem(refused, 429, "account_locked")
    assert 86000 < body["retry_after"] <= 86400
    [event] = AuditEvent.objects.filter(action="auth.lockout")
    assert event.changes == {"scope": {"old": None, "new": "account"}}
    assert (event.target_type, event.target_id) == ("user", str(citizen.pk))


def test_a_known_device_signs_in_behind_an_address_locked_by_an_attacker(citizen, settings):
    """A shared address (carrier-grade NAT): the attacker locks the account there, and the
    address itself, yet the owner's device signs in from it."""
    settings.LOCKOUT_SOURCE_MAX_FAILURES = 8  # under the request throttle of one address
    device = sign_in(citizen.email, PASSWORD, ip="10.7.7.7").json()["device_token"]
    for login in [citizen.email] * 5 + [f"x{i}@example.tg" for i in range(3)]:
        sign_in(login, WRONG, ip="10.7.7.7")
    assert_problem(sign_in(citizen.email, PASSWORD, ip="10.7.7.7"), 429, "account_locked")
    assert_problem(sign_in("y@example.tg", PASSWORD, ip="10.7.7.7"), 429, "source_locked")

    ok = sign_in(citizen.email, PASSWORD, ip="10.7.7.7", device=device)

    assert ok.status_code == 200
    assert ok.json()["device_token"]


def test_a_known_device_has_its_own_small_budget(citizen):
    device = sign_in(citizen.email, PASSWORD, ip="10.8.8.8").json()["device_token"]
    for _ in range(5):
        assert sign_in(citizen.email, WRONG, ip="10.8.8.8", device=device).status_code == 401

    locked = sign_in(citizen.email, PASSWORD, ip="10.8.8.8", device=device)

    assert_problem(locked, 429, "account_locked")
    # Its failures were not spent from the account × address counter.
    assert sign_in(citizen.email, PASSWORD, ip="10.8.8.8").status_code == 200


def test_the_device_id_is_kept_from_one_sign_in_to_the_next(citizen):
    first = sign_in(citizen.email, PASSWORD, ip="10.8.8.9").json()["device_token"]
    for _ in range(4):
        sign_in(citizen.email, WRONG, ip="10.8.8.9", device=first)
    second = sign_in(citizen.email, PASSWORD, ip="10.8.8.9", device=first).json()["device_token"]
    for _ in range(5):
        sign_in(citizen.email, WRONG, ip="10.8.8.9", device=second)

    # Same device: one counter (reset by the success in between), now locked for both tokens.
    assert_problem(
        sign_in(citizen.email, PASSWORD, ip="10.8.8.9", device=first), 429, "account_locked"
    )


@pytest.mark.parametrize("which", ["forged", "other-person", "before-password-change"])
def test_a_device_token_that_is_not_this_account_s_counts_for_nothing(
    citizen, other_citizen, which
):
    if which == "forged":
        device = "eyJ1Ijoi.forged.signature"
    elif which == "other-person":
        device = sign_in(other_citizen.email, PASSWORD, ip="10.9.9.1").json()["device_token"]
    else:
        device = sign_in(citizen.email, PASSWORD, ip="10.9.9.1").json()["device_token"]
        user_change_password(
            user=citizen, current_password=PASSWORD, new_password="une-autre-phrase-longue"
        )
    for _ in range(5):
        sign_in(citizen.email, WRONG, ip="10.9.9.2")

    refused = sign_in(citizen.email, PASSWORD, ip="10.9.9.2", device=device)

    assert_problem(refused, 429, "account_locked")


def test_a_device_token_never_helps_a_login_that_names_nobody(citizen):
    device = device_token_issue(user_id=str(citizen.pk), password_hash=citizen.password)
    for _ in range(5):
        sign_in("nobody@example.tg", WRONG, ip="10.9.9.3", device=device)

    assert_problem(
        sign_in("nobody@example.tg", WRONG, ip="10.9.9.3", device=device), 429, "account_locked"
    )


def _shape(response: Any) -> tuple[int, dict[str, Any], str | None]:
    body = {k: v for k, v in response.json().items() if k not in ("request_id", "retry_after")}
    return response.status_code, body, response.get("Retry-After") and "set"


def test_a_locked_account_answers_exactly_like_a_missing_one(citizen):
    existing = [sign_in(citizen.email, WRONG, ip="10.10.0.1") for _ in range(6)]
    missing = [sign_in("personne@example.tg", WRONG, ip="10.10.0.2") for _ in range(6)]

    assert [_shape(r) for r in existing] == [_shape(r) for r in missing]
    assert existing[-1].status_code == 429
    assert set(existing[-1].json()) == set(missing[-1].json())
    assert abs(existing[-1].json()["retry_after"] - missing[-1].json()["retry_after"]) <= 1
