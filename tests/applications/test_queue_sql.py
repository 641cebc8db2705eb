"""The staff queue filtered by status reads one page, without SELECT DISTINCT."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import HOST_A


def test_status_filter_does_not_make_the_queue_distinct(api, people, service_a, in_state):
    in_state("submitted")
    in_state("submitted")
    agent = people["supervisor"]

    with CaptureQueriesContext(connection) as queries:
        response = api(HOST_A, agent.token).get(
            "/api/v1/staff/applications/?status=submitted&status=in_review"
        )

    assert response.status_code == 200, response.content
    assert response.json()["count"] == 2
    selects = [q["sql"] for q in queries.captured_queries if "applications_application" in q["sql"]]
    assert selects
    assert not any("DISTINCT" in sql for sql in selects)
