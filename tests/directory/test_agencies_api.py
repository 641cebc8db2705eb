"""GET /api/v1/agencies/ on the public host: the active agencies, for anyone."""

from __future__ import annotations

import pytest

from apps.agencies.services import agency_set_active
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST

pytestmark = pytest.mark.django_db

URL = "/api/v1/agencies/"


def test_active_agencies_are_listed_with_their_host(api, agency_a, agency_b):
    response = api(PUBLIC_HOST).get(URL)

    assert response.status_code == 200
    results = response.json()["results"]
    assert [(a["slug"], a["host"], a["name"]) for a in results] == [
        ("agence-a", HOST_A, "Agence A"),
        ("agence-b", HOST_B, "Agence B"),
    ]
    assert "schema_name" not in results[0]
    assert "is_active" not in results[0]


def test_names_follow_the_language(api, agency_a, agency_b):
    results = api(PUBLIC_HOST).get(URL, HTTP_ACCEPT_LANGUAGE="en").json()["results"]

    assert results[0]["name"] == "Agency A"
    assert results[0]["name_fr"] == "Agence A"


def test_a_deactivated_agency_is_not_listed(api, agency_a, agency_b):
    agency_set_active(agency=agency_b, is_active=False)

    slugs = [a["slug"] for a in api(PUBLIC_HOST).get(URL).json()["results"]]

    assert slugs == ["agence-a"]


def test_no_credentials_are_needed_and_a_bad_token_is_ignored(api, agency_a):
    assert api(PUBLIC_HOST, "garbage").get(URL).status_code == 200


def test_the_list_costs_a_fixed_number_of_queries(
    api, agency_a, agency_b, django_assert_max_num_queries
):
    # search_path, count, page, domains: the same for 2 agencies or 200.
    with django_assert_max_num_queries(4):
        response = api(PUBLIC_HOST).get(URL)

    assert response.json()["count"] == 2
