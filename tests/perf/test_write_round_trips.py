"""The SQL budget of the hot write paths: a submit and a staff decision.

Counted in-process with Django's query log around the whole API request (idempotency record,
transition, history, audit event, index row, outbox rows, the detail answer). Inside the
test's own transaction, ``BEGIN``/``COMMIT`` of the request show as ``SAVEPOINT``/``RELEASE``,
so the count is the one the driver sees in production (``benches/harness/roundtrips.py``).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind
from tests.applications.conftest import advance, draft, service_create
from tests.conftest import HOST_A

pytestmark = pytest.mark.django_db

WRITE_ROUND_TRIPS = 12


def _post(client: Any, path: str, **extra: Any) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.post(path, {}, format="json", **extra)
    return response, [query["sql"] for query in queries.captured_queries]


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
    assert len(statements) <= WRITE_ROUND_TRIPS, "\n".join(statements)


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
    assert len(statements) <= WRITE_ROUND_TRIPS, "\n".join(statements)
