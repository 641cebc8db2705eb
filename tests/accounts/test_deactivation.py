"""Deactivation ends access at once, by any path (stateless token users included).

The request used, the citizen's own applications, needs only the person's id, so the
``accounts_user`` row is never read: only the revocation can refuse it. Application paths
(service, ``save()``, queryset ``update()``, ``bulk_update``) revoke through the hot-key store at
commit, with the database poll off (the test settings' default); a change made with SQL is
caught by the trigger and the poll, within ``AUTH_REVOCATION_POLL_SECONDS``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from apps.accounts.models import User, UserRevocation
from apps.accounts.revocations import recent_revocations
from apps.accounts.services import user_deactivate
from apps.audit.models import AuditEvent
from tests.conftest import PUBLIC_HOST
from tests.helpers import assert_problem
from tests.security.helpers import unreachable_hotkeys

pytestmark = pytest.mark.django_db

MY_APPLICATIONS = "/api/v1/me/applications/"
REFRESH = "/api/v1/auth/token/refresh/"


@pytest.fixture(autouse=True)
def _fresh_poll() -> Iterator[None]:
    recent_revocations.clear()
    yield
    recent_revocations.clear()


@pytest.fixture
def session(api: Any, citizen: User, tokens: Any) -> Any:
    issued = tokens(citizen)
    client = api(PUBLIC_HOST, issued.access)
    client.refresh_token = issued.refresh
    assert client.get(MY_APPLICATIONS).status_code == 200
    return client


def _assert_ended(api: Any, session: Any) -> None:
    assert_problem(session.get(MY_APPLICATIONS), 401, "token_revoked")
    refresh = api(PUBLIC_HOST).post(REFRESH, {"refresh": session.refresh_token})
    assert refresh.status_code == 401


def test_the_service_ends_access_at_once(api, session, citizen, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user_deactivate(user=User.objects.get(pk=citizen.pk))

    _assert_ended(api, session)
    [event] = AuditEvent.objects.filter(action="user.deactivated", target_id=str(citizen.pk))
    assert event.changes == {"is_active": {"old": True, "new": False}}


def test_the_service_leaves_an_inactive_person_alone(citizen, django_capture_on_commit_callbacks):
    User.objects.filter(pk=citizen.pk).update(is_active=False)
    with django_capture_on_commit_callbacks() as callbacks:
        user_deactivate(user=User.objects.get(pk=citizen.pk))

    assert callbacks == []
    assert not AuditEvent.objects.filter(action="user.deactivated").exists()


def test_a_model_save_ends_access_at_once(
    api, session, citizen, django_capture_on_commit_callbacks
):
    person = User.objects.get(pk=citizen.pk)
    person.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        person.save()

    _assert_ended(api, session)


def test_a_save_of_other_fields_revokes_nothing(
    session, citizen, django_capture_on_commit_callbacks
):
    person = User.objects.get(pk=citizen.pk)
    person.first_name = "Afi"
    with django_capture_on_commit_callbacks() as callbacks:
        person.save(update_fields=["first_name"])
        person.save()

    assert callbacks == []
    assert session.get(MY_APPLICATIONS).status_code == 200


def test_a_queryset_update_ends_access_at_once(
    api, session, citizen, other_citizen, tokens, django_capture_on_commit_callbacks
):
    other = api(PUBLIC_HOST, tokens(other_citizen).access)
    with django_capture_on_commit_callbacks(execute=True):
        User.objects.filter(pk=citizen.pk).update(is_active=False)

    _assert_ended(api, session)
    assert other.get(MY_APPLICATIONS).status_code == 200  # nobody else


def test_bulk_update_ends_access_at_once(api, session, citizen, django_capture_on_commit_callbacks):
    person = User.objects.get(pk=citizen.pk)
    person.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        User.objects.bulk_update([person], ["is_active"])

    _assert_ended(api, session)


def test_an_update_that_keeps_people_active_revokes_nothing(
    session, citizen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        User.objects.filter(pk=citizen.pk).update(is_active=True, first_name="Afi")
        User.objects.filter(pk=citizen.pk).update(first_name="Afia")

    assert callbacks == []
    assert session.get(MY_APPLICATIONS).status_code == 200


def test_sql_deactivation_takes_effect_within_the_poll_interval(api, session, citizen, settings):
    settings.AUTH_REVOCATION_POLL_SECONDS = 1
    assert session.get(MY_APPLICATIONS).status_code == 200  # polled: nothing yet

    with connection.cursor() as cursor:  # no application code runs
        cursor.execute("UPDATE accounts_user SET is_active = false WHERE id = %s", [citizen.pk])
    [row] = UserRevocation.objects.filter(user_id=citizen.pk)
    started = time.monotonic()
    while session.get(MY_APPLICATIONS).status_code == 200:
        assert time.monotonic() - started < 3, "still served 3 s after the SQL change"
        time.sleep(0.1)

    assert_problem(session.get(MY_APPLICATIONS), 401, "token_revoked")
    assert row.revoked_at is not None


def test_sql_deletion_is_recorded_too(api, settings):
    settings.AUTH_REVOCATION_POLL_SECONDS = 0.01
    gone = User.objects.create_user(email="parti@example.tg")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_user WHERE id = %s", [gone.pk])

    assert UserRevocation.objects.filter(user_id=gone.pk).exists()


def test_a_token_issued_after_a_reactivation_works(api, citizen, tokens, settings):
    settings.AUTH_REVOCATION_POLL_SECONDS = 0.01
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_user SET is_active = false WHERE id = %s", [citizen.pk])
        cursor.execute("UPDATE accounts_user SET is_active = true WHERE id = %s", [citizen.pk])
    time.sleep(1.05)  # tokens of the revocation's own second stay refused

    fresh = api(PUBLIC_HOST, tokens(citizen).access)

    assert fresh.get(MY_APPLICATIONS).status_code == 200


def test_with_the_store_down_the_trigger_still_ends_access(
    api, session, citizen, settings, tmp_path: Path, django_capture_on_commit_callbacks
):
    with unreachable_hotkeys(tmp_path), django_capture_on_commit_callbacks(execute=True):
        User.objects.filter(pk=citizen.pk).update(is_active=False)  # the marker is lost

    assert session.get(MY_APPLICATIONS).status_code == 200  # the poll is off
    settings.AUTH_REVOCATION_POLL_SECONDS = 5
    assert_problem(session.get(MY_APPLICATIONS), 401, "token_revoked")
