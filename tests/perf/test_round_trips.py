"""The SQL budget of the hot read paths: at most 3 round trips and one search_path change.

Counted in-process with Django's query log (``SET search_path`` is issued through Django's
cursor, so it is counted too), after a warm-up request, with a page full and nearly empty so a
per-row query would show. The connection health check of persistent connections is not in
Django's log; ``benches/harness/roundtrips.py`` counts it at the driver, and the connection
pool (``DATABASE_POOL``) removes it.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind
from tests.applications.conftest import draft, service_create
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST
from tests.perf.conftest import service_make

pytestmark = pytest.mark.django_db

STAFF_LIST = "/api/v1/staff/applications/?status=submitted&page_size=50"
SERVICES = "/api/v1/services/"
ME = "/api/v1/me/applications/?page_size=50"
ROUND_TRIPS = 3


def _statements(client: Any, path: str) -> tuple[Any, list[str]]:
    client.get(path)  # warm-up: the host cache, content types, the first SET of the session
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    return response, [query["sql"] for query in queries.captured_queries]


def _search_path_sets(statements: list[str]) -> int:
    return sum(1 for sql in statements if sql.upper().startswith("SET SEARCH_PATH"))


@pytest.mark.parametrize("rows", [3, 60])
def test_the_staff_list_costs_three_round_trips_and_one_search_path(
    api, tokens, staff_of, agency_a, queue_of, rows
):
    queue_of(agency_a, rows)
    agent = staff_of(agency_a, Role.AGENT)
    token = tokens(agent, TokenKind.STAFF, agency=agency_a, role=Role.AGENT).access

    response, statements = _statements(api(HOST_A, token), STAFF_LIST)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == rows
    assert len(body["results"]) == min(rows, 50)
    assert len(statements) <= ROUND_TRIPS, statements
    assert _search_path_sets(statements) == 1, statements
    assert statements[0].startswith('SET search_path = "agence_a"'), statements
    count = next(sql for sql in statements if "COUNT(*)" in sql)
    assert "JOIN" not in count, count  # the rows' joins are not needed to count them


@pytest.mark.parametrize("entries", [1, 30])
def test_my_applications_cost_three_round_trips_and_one_search_path(
    api, tokens, citizen, agency_a, agency_b, entries
):
    service_create(agency_a.schema_name)
    service_create(agency_b.schema_name)
    for index in range(entries):
        draft(agency_a.schema_name if index % 2 else agency_b.schema_name, citizen, attach=False)

    response, statements = _statements(api(PUBLIC_HOST, tokens(citizen).access), ME)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == entries
    assert {row["agency"]["host"] for row in body["results"]} <= {HOST_A, HOST_B}
    assert len(statements) <= ROUND_TRIPS, statements
    assert _search_path_sets(statements) == 1, statements


@pytest.mark.parametrize("services", [1, 12])
def test_the_services_list_costs_three_round_trips_and_one_search_path(api, agency_a, services):
    for index in range(services):
        service_make(agency_a.schema_name, f"demarche-{index}")

    response, statements = _statements(api(HOST_A), SERVICES)

    assert response.status_code == 200
    assert response.json()["count"] == services
    assert len(statements) <= ROUND_TRIPS, statements
    assert _search_path_sets(statements) == 1, statements


def test_a_public_host_request_never_runs_on_an_agency_search_path(api, tokens, citizen, agency_a):
    """After an agency request, the next request on the same connection starts on public."""
    client = api(PUBLIC_HOST, tokens(citizen).access)
    api(HOST_A).get(SERVICES)

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/me/applications/")

    assert response.status_code == 200
    statements = [query["sql"] for query in queries.captured_queries]
    assert statements[0] == 'SET search_path = "public"', statements
    assert _search_path_sets(statements) == 1
