"""Refresh rotation under a real race: one winner per token; a later replay ends the family.

The race runs on committed data with real threads, each with its own PostgreSQL connection, as
under a threaded or multi-process server; what it creates is deleted at the end (except audit
events: the audit table is append-only).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connections
from django.test import Client, override_settings
from django_tenants.utils import schema_context
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.models import RefreshTokenRecord, User
from apps.accounts.tokens import FAMILY_CLAIM, TokenKind, issue_user_tokens
from apps.audit.models import AuditEvent
from tests.conftest import HOST_A, PUBLIC_HOST
from tests.factories import UserFactory
from tests.helpers import assert_problem

REFRESH = "/api/v1/auth/token/refresh/"
ME = "/api/v1/me/"


def _refresh(raw: str, host: str = PUBLIC_HOST) -> Any:
    return Client(HTTP_HOST=host).post(
        REFRESH, data=json.dumps({"refresh": raw}), content_type="application/json"
    )


def _me(access: str) -> int:
    client = Client(HTTP_HOST=HOST_A, HTTP_AUTHORIZATION=f"Bearer {access}")
    return int(client.get(ME).status_code)


def _run_together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Start every call at the same instant, each in its own thread and connection."""
    results: list[Any] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except Exception as exc:  # reported by the assertions of the test
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.fixture
def committed_person(agency_a: Any, django_db_blocker: Any) -> Iterator[User]:
    """A citizen committed to the database, removed with their tokens afterwards."""
    with django_db_blocker.unblock():
        person = UserFactory(email=f"{uuid.uuid4().hex[:12]}@example.tg")
        try:
            yield person
        finally:
            OutstandingToken.objects.filter(user=person).delete()
            # From an agency's search path, so Django sees every table that refers to a user.
            with schema_context(agency_a.schema_name):
                User.objects.filter(pk=person.pk).delete()


@pytest.mark.slow
def test_fifty_simultaneous_refreshes_make_one_session_and_a_later_replay_ends_it(
    committed_person, django_db_blocker
):
    with django_db_blocker.unblock():
        issued = issue_user_tokens(user=committed_person, kind=TokenKind.CITIZEN)
        family = RefreshToken(issued.refresh)[FAMILY_CLAIM]  # type: ignore[arg-type]

        responses = _run_together([lambda: _refresh(issued.refresh)] * 50)

        statuses = sorted(getattr(r, "status_code", repr(r)) for r in responses)
        assert statuses == [200] + [401] * 49, statuses
        codes = {r.json()["code"] for r in responses if r.status_code == 401}
        assert codes == {"refresh_token_rotated"}
        [winner] = [r.json() for r in responses if r.status_code == 200]
        # One new refresh token in the family, and it works; the loser answers revoked nothing.
        assert RefreshTokenRecord.objects.filter(family=family).count() == 2
        assert _me(winner["access"]) == 200
        audit_before = AuditEvent.objects.filter(action="auth.refresh_family_revoked").count()

        # The original token comes back after the leeway (a copy replayed by a thief).
        with override_settings(JWT_REFRESH_REUSE_LEEWAY_SECONDS=0):
            replay = _refresh(issued.refresh)

        assert_problem(replay, 401, "refresh_token_reused")
        assert _me(winner["access"]) == 401  # the owner's session has ended too
        assert_problem(_refresh(winner["refresh"]), 401, "token_invalid")
        assert (
            BlacklistedToken.objects.filter(token__record__family=family).count()
            == RefreshTokenRecord.objects.filter(family=family).count()
            == 2
        )
        events = AuditEvent.objects.filter(action="auth.refresh_family_revoked")
        assert events.count() == audit_before + 1
        event = events.order_by("-occurred_at").first()
        assert event is not None
        assert (event.target_type, event.target_id) == ("user", str(committed_person.pk))
        assert event.outcome == "denied"
        assert event.changes["family"]["new"] == family
