"""The SQL budget of the hot write paths: a submit and a staff decision, at most 12 round trips.

Counted at the driver (every ``execute`` psycopg sends, as ``benches/harness/roundtrips.py``
does; Django's query log would count each queued write of ``apps.core.batching`` although they
travel together) around the whole API request: idempotency record, transition, history, audit
event, index row, outbox rows, the answer. Inside the test's own transaction the request's
``BEGIN`` shows as a ``SAVEPOINT`` (counted) and its ``COMMIT`` as a ``RELEASE SAVEPOINT``
(counted), so the count is the production one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind
from tests.applications.conftest import advance, draft, service_create
from tests.conftest import HOST_A

pytestmark = pytest.mark.django_db

WRITE_ROUND_TRIPS = 12


@pytest.fixture(autouse=True)
def _deferred_sealing(settings: Any) -> None:
    """As in production: events are sealed after commit, not in the writer's transaction."""
    settings.AUDIT_SEAL_INLINE = False


@contextmanager
def driver_statements() -> Iterator[list[str]]:
    """Every statement psycopg sends while the block runs (one per round trip)."""
    sent: list[str] = []
    original = psycopg.Cursor.execute

    def execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(query if isinstance(query, str) else str(query))
        return original(self, query, *args, **kwargs)

    psycopg.Cursor.execute = execute  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        psycopg.Cursor.execute = original  # type: ignore[method-assign]


def _post(client: Any, path: str, **extra: Any) -> tuple[Any, list[str]]:
    with driver_statements() as sent:
        response = client.post(path, {}, format="json", **extra)
    return response, sent


def test_a_submit_costs_at_most_twelve_round_trips(api, tokens, citizen, agency_a):
    service_create(agency_a.schema_name)
    client = api(HOST_A, tokens(citizen).access)
    warm = draft(agency_a.schema_name, citizen)
    client.post(
        f"/api/v1/applications/{warm.id}/submit/", {}, format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )  # fmt: skip
    application = draft(agency_a.schema_name, citizen)

    response, statements = _post(
        client,
        f"/api/v1/applications/{application.id}/submit/",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )

    assert response.status_code == 200, response.content
    assert response.json()["reference"]
    # Built from what the transition read and wrote, the answer is what a read gives now.
    again = client.get(f"/api/v1/applications/{application.id}/")
    assert response.json() == again.json()
    assert response["ETag"] == again["ETag"]
    print(f"submit: {len(statements)} round trips")
    assert len(statements) <= WRITE_ROUND_TRIPS, "\n---\n".join(s[:300] for s in statements)


def test_a_staff_approval_costs_at_most_twelve_round_trips(
    api, tokens, citizen, agency_a, staff_of
):
    service_create(agency_a.schema_name)
    schema = agency_a.schema_name
    agent = staff_of(agency_a, Role.AGENT)
    client = api(HOST_A, tokens(agent, TokenKind.STAFF, agency=agency_a, role=Role.AGENT).access)
    applications = []
    for _ in range(2):
        application = advance(schema, draft(schema, citizen), "submit", citizen, "citizen")
        applications.append(advance(schema, application, "take", agent, Role.AGENT))
    warm, application = applications
    client.post(
        f"/api/v1/staff/applications/{warm.id}/approve/", {}, format="json",
        HTTP_IF_MATCH=warm.etag,
    )  # fmt: skip

    response, statements = _post(
        client,
        f"/api/v1/staff/applications/{application.id}/approve/",
        HTTP_IF_MATCH=application.etag,
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"
    print(f"approve: {len(statements)} round trips")
    assert len(statements) <= WRITE_ROUND_TRIPS, "\n---\n".join(s[:300] for s in statements)
