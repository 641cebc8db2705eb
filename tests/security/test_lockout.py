"""Sign-in lockout per account × source and per source address: refused before the password,
audited. The account budget and known devices: test_lockout_budget.py."""

from __future__ import annotations

import time

import pytest
from rest_framework.test import APIClient

from apps.accounts import lockout
from apps.accounts.models import Role
from apps.audit.models import AuditEvent
from apps.hotkeys.keys import hot_prefix
from apps.hotkeys.registry import get_store
from tests.conftest import HOST_A, PUBLIC_HOST
from tests.factories import PASSWORD
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
WRONG = "not-the-password"


def sign_in(login: str, password: str, *, ip: str = "127.0.0.1", host: str = PUBLIC_HOST):
    client = APIClient(HTTP_HOST=host, REMOTE_ADDR=ip)
    return client.post(TOKEN, {"login": login, "password": password})


def fail(login: str, times: int, **kwargs) -> list[int]:
    return [sign_in(login, WRONG, **kwargs).status_code for _ in range(times)]


def lock_events():
    return AuditEvent.objects.filter(action="auth.lockout")


def test_account_locks_after_five_failures_even_for_the_right_password(citizen):
    assert fail(citizen.email, 5) == [401] * 5

    refused = sign_in(citizen.email, PASSWORD)

    body = assert_problem(refused, 429, "account_locked")
    assert 895 <= int(refused["Retry-After"]) <= 900
    assert body["retry_after"] == int(refused["Retry-After"])
    # The refused attempt was not checked: no sixth denied sign-in, no token.
    assert AuditEvent.objects.filter(action="auth.login", outcome="denied").count() == 5
    assert "access" not in body


def test_each_lock_is_audited_once(citizen):
    fail(citizen.email, 8)

    [event] = lock_events()
    assert event.outcome == "denied"
    assert event.agency_schema == "public"
    assert (event.target_type, event.target_id) == ("user", str(citizen.id))
    assert event.changes == {"scope": {"old": None, "new": "account_source"}}
    assert event.ip == "127.0.0.1"


def test_account_lock_is_per_account_and_source(citizen, other_citizen):
    fail(citizen.email, 5)

    assert sign_in(other_citizen.email, PASSWORD).status_code == 200
    assert_problem(sign_in(citizen.email, PASSWORD), 429, "account_locked")
    # Failures from one address do not lock the owner out elsewhere.
    assert sign_in(citizen.email, PASSWORD, ip="10.1.1.1").status_code == 200


def test_email_and_phone_of_one_person_share_the_count(citizen):
    fail(citizen.email, 3)
    fail(citizen.phone, 2)

    assert_problem(sign_in(citizen.email, PASSWORD), 429, "account_locked")


def test_unknown_logins_lock_the_same_way(db):
    assert fail("nobody@example.tg", 5) == [401] * 5

    assert_problem(sign_in("nobody@example.tg", WRONG), 429, "account_locked")
    [event] = lock_events()
    assert (event.target_type, event.target_id) == ("account_source", "")


def test_success_resets_the_account_count(citizen):
    fail(citizen.email, 4)
    assert sign_in(citizen.email, PASSWORD).status_code == 200

    assert fail(citizen.email, 4) == [401] * 4
    assert sign_in(citizen.email, PASSWORD).status_code == 200
    assert not lock_events().exists()


def test_source_locks_after_its_own_limit_across_accounts(settings, citizen, other_citizen):
    settings.LOCKOUT_SOURCE_MAX_FAILURES = 3
    fail("a@example.tg", 1, ip="10.2.2.2")
    fail("b@example.tg", 1, ip="10.2.2.2")
    fail("c@example.tg", 1, ip="10.2.2.2")

    refused = sign_in(citizen.email, PASSWORD, ip="10.2.2.2")
    elsewhere = sign_in(other_citizen.email, PASSWORD, ip="10.3.3.3")

    assert_problem(refused, 429, "source_locked")
    assert int(refused["Retry-After"]) > 0
    assert elsewhere.status_code == 200
    [event] = lock_events()
    assert (event.target_type, event.target_id) == ("source", "")
    assert event.changes == {"scope": {"old": None, "new": "source"}}


def test_successful_sign_ins_do_not_count_against_the_source(settings, citizen):
    settings.LOCKOUT_SOURCE_MAX_FAILURES = 2

    for _ in range(5):
        assert sign_in(citizen.email, PASSWORD).status_code == 200
    assert fail("x@example.tg", 1) == [401]


def test_lock_lifts_after_the_window(settings, citizen):
    settings.LOCKOUT_WINDOW_SECONDS = 1
    settings.LOCKOUT_ACCOUNT_MAX_FAILURES = 2
    fail(citizen.email, 2)
    assert_problem(sign_in(citizen.email, PASSWORD), 429, "account_locked")

    time.sleep(1.1)

    assert sign_in(citizen.email, PASSWORD).status_code == 200


def test_lock_applies_on_every_host(citizen):
    fail(citizen.email, 5, host=HOST_A)

    assert_problem(sign_in(citizen.email, PASSWORD, host=PUBLIC_HOST), 429, "account_locked")
    keys = get_store().range(hot_prefix("public", "lockout"))
    assert keys
    assert get_store().range(hot_prefix("agence_a", "lockout")) == []


def test_keys_hold_no_personal_data(db):
    fail("Someone@Example.tg", 1, ip="10.4.4.4")

    keys = b"".join(key for key, _ in get_store().range(hot_prefix("public", "lockout")))
    assert b"someone" not in keys.lower()


def test_parallel_attempts_cannot_test_more_passwords_than_the_limit(citizen):
    """Each attempt is reserved before its password check, so a burst cannot overshoot."""
    reserved = [
        lockout.login_attempt_begin(login=citizen.email, source="10.5.5.5") for _ in range(5)
    ]

    with pytest.raises(lockout.LoginLocked) as locked:
        lockout.login_attempt_begin(login=citizen.email, source="10.5.5.5")

    assert locked.value.code == "account_locked"
    assert [attempt.counts[0] for attempt in reserved] == [1, 2, 3, 4, 5]


def test_store_down_fails_closed_without_checking_the_password(citizen, unreachable_store):
    response = sign_in(citizen.email, PASSWORD)

    assert_problem(response, 503, "service_unavailable")
    assert not AuditEvent.objects.filter(action="auth.login").exists()


def test_release_tolerates_a_store_outage(citizen, tmp_path):
    from tests.security.helpers import unreachable_hotkeys

    attempt = lockout.login_attempt_begin(login=citizen.email, source="10.6.6.6")
    with unreachable_hotkeys(tmp_path):
        lockout.login_attempt_succeeded(attempt)  # does not raise: the count simply stays


# --- the admin console ---------------------------------------------------------------------


def console_login(client, login: str, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": login, "password": password})


def test_console_failures_lock_the_account_for_the_api_too(client, agency_a, staff_of):
    agent = staff_of(agency_a, Role.SUPERVISOR)
    client.defaults["HTTP_HOST"] = HOST_A
    for _ in range(5):
        assert console_login(client, agent.email, WRONG).status_code == 200  # form redisplayed

    locked = console_login(client, agent.email, PASSWORD)

    assert locked.status_code == 200
    assert "15 minutes" in locked.content.decode() or "15 min" in locked.content.decode()
    assert_problem(sign_in(agent.email, PASSWORD, host=HOST_A), 429, "account_locked")
    assert lock_events().count() == 1


def test_console_sign_in_resets_the_count(client, agency_a, staff_of):
    agent = staff_of(agency_a)
    client.defaults["HTTP_HOST"] = HOST_A
    for _ in range(4):
        console_login(client, agent.email, WRONG)

    ok = console_login(client, agent.email, PASSWORD)

    assert ok.status_code == 302
    assert fail(agent.email, 4, host=HOST_A) == [401] * 4


def test_right_password_on_another_console_is_not_a_failure(client, agency_a, staff_of):
    agent = staff_of(agency_a)
    client.defaults["HTTP_HOST"] = PUBLIC_HOST  # not a platform admin: refused, not counted
    for _ in range(6):
        assert console_login(client, agent.email, PASSWORD).status_code == 200

    client.defaults["HTTP_HOST"] = HOST_A
    assert console_login(client, agent.email, PASSWORD).status_code == 302


def test_console_with_the_store_down_refuses_sign_in(client, agency_a, staff_of, unreachable_store):
    agent = staff_of(agency_a)
    client.defaults["HTTP_HOST"] = HOST_A

    response = console_login(client, agent.email, PASSWORD)

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_console_form_without_password_is_not_counted(client, agency_a, staff_of):
    agent = staff_of(agency_a)
    client.defaults["HTTP_HOST"] = HOST_A

    for _ in range(6):
        assert console_login(client, agent.email, "").status_code == 200

    assert console_login(client, agent.email, PASSWORD).status_code == 302
