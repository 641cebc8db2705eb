"""Two requests with one Idempotency-Key at the same time, on real PostgreSQL: one creation.

The data is committed (no test transaction), so every row uses identifiers unique to the run.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.db import connections
from django.test import Client
from django_tenants.utils import schema_context

from apps.audit.models import AuditEvent
from apps.idempotency.models import IdempotencyRecord
from tests.conftest import HOST_A
from tests.idempotency.views import ACTION


def _race(key: str, body: dict[str, Any], *, delays: tuple[float, float]) -> list[Any]:
    """POST twice concurrently (each in its own thread and connection); return both responses."""
    responses: list[Any] = [None, None]
    start = threading.Barrier(2)

    def worker(index: int) -> None:
        try:
            start.wait()
            if delays[index]:
                threading.Event().wait(delays[index])
            responses[index] = Client(HTTP_HOST=HOST_A).post(
                "/test/things/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


def _cleanup(key: str, name: str) -> None:
    with schema_context("agence_a"):
        # Audit events stay (the audit table is append-only); the test database is dropped.
        IdempotencyRecord.objects.filter(key=key).delete()


def _created(name: str) -> int:
    with schema_context("agence_a"):
        return AuditEvent.objects.filter(action=ACTION, target_id=name).count()


@pytest.mark.slow
def test_concurrent_duplicates_create_once_and_the_other_gets_409(agency_a, django_db_blocker):
    key, name = f"race-{uuid.uuid4()}", f"race-{uuid.uuid4()}"
    with django_db_blocker.unblock():
        try:
            # The first sleeps in its view; the second arrives while it is in flight.
            responses = _race(key, {"name": name, "sleep": 0.8}, delays=(0, 0.3))
            statuses = sorted(r.status_code for r in responses)
            assert statuses == [201, 409], [r.content for r in responses]
            conflict = next(r for r in responses if r.status_code == 409)
            assert conflict.json()["code"] == "idempotency_in_progress"
            assert _created(name) == 1
            # Once the first has finished, a retry replays it.
            retry = Client(HTTP_HOST=HOST_A).post(
                "/test/things/",
                {"name": name, "sleep": 0.8},
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=key,
            )
            assert retry.status_code == 201
            assert retry["Idempotent-Replayed"] == "true"
            assert _created(name) == 1
        finally:
            _cleanup(key, name)


@pytest.mark.slow
def test_concurrent_duplicates_with_the_store_down_create_once(
    agency_a, django_db_blocker, unreachable_store
):
    """Without the in-flight marker, PostgreSQL's unique index makes the second wait and replay."""
    key, name = f"race-{uuid.uuid4()}", f"race-{uuid.uuid4()}"
    with django_db_blocker.unblock():
        try:
            responses = _race(key, {"name": name, "sleep": 0.8}, delays=(0, 0.3))
            assert [r.status_code for r in responses] == [201, 201], [r.content for r in responses]
            replayed = [r for r in responses if r.get("Idempotent-Replayed") == "true"]
            assert len(replayed) == 1
            assert responses[0].json() == responses[1].json()
            assert _created(name) == 1
            with schema_context("agence_a"):
                assert IdempotencyRecord.objects.filter(key=key).count() == 1
        finally:
            _cleanup(key, name)
