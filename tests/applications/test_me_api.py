"""The citizen's applications in every agency, on the public host, from the public index."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.applications.conftest import advance, draft
from tests.conftest import HOST_A, PUBLIC_HOST

pytestmark = pytest.mark.django_db

URL = "/api/v1/me/applications/"


def test_lists_applications_of_every_agency_most_recent_first(
    api, service_a, service_b, citizen, other_citizen, tokens
):
    in_a = draft("agence_a", citizen)
    in_b = draft("agence_b", citizen)
    draft("agence_a", other_citizen)
    in_a = advance("agence_a", in_a, "submit", citizen, "citizen")

    response = api(PUBLIC_HOST, tokens(citizen).access).get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    first, second = body["results"]
    assert first["id"] == str(in_a.id)  # changed last
    assert first["agency"] == {"slug": "agence-a", "name": "Agence A", "host": HOST_A}
    assert first["reference"] == in_a.reference
    assert first["status"] == "submitted"
    assert first["service"] == {"code": "copie-acte-naissance", "name": "Copie d'acte de naissance"}
    assert second["id"] == str(in_b.id)
    assert second["agency"]["slug"] == "agence-b"
    assert second["reference"] == ""


def test_the_service_name_follows_the_language(api, service_a, citizen, tokens):
    draft("agence_a", citizen)

    response = api(PUBLIC_HOST, tokens(citizen).access).get(URL, HTTP_ACCEPT_LANGUAGE="en")

    assert response.json()["results"][0]["service"]["name"] == "Birth certificate copy"


def test_not_served_on_agency_hosts(api, citizen, tokens):
    response = api(HOST_A, tokens(citizen).access).get(URL)

    assert response.status_code == 404


def test_constant_number_of_queries_whatever_the_page_size(
    api, service_a, service_b, citizen, tokens
):
    for _ in range(30):
        draft("agence_a", citizen, attach=False)
        draft("agence_b", citizen, attach=False)
    client = api(PUBLIC_HOST, tokens(citizen).access)

    client.get(URL)  # warm-up: the first request also sets the connection's search_path
    counts = {}
    for size in (5, 50):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL, {"page_size": size})
        assert len(response.json()["results"]) == size
        assert {row["agency"]["slug"] for row in response.json()["results"]} == {
            "agence-a",
            "agence-b",
        }
        counts[size] = len(queries)

    assert counts[5] == counts[50]
    # search_path, count, the page with its agencies and their primary hosts (the token's user
    # is stateless: no query).
    assert counts[50] <= 3
