"""Answers that schemathesis found outside the declared statuses, fixed at their root."""

from __future__ import annotations

import pytest

from tests.conftest import HOST_A, PUBLIC_HOST
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("host", "path"),
    [(PUBLIC_HOST, "/api/v1/agencies/"), (HOST_A, "/api/v1/services/"), (HOST_A, "/api/v1/me/")],
)
def test_an_unknown_format_is_not_acceptable_not_a_missing_page(api, host, path):
    # DRF answered 404 (as if the address did not exist) to ?format= naming no renderer.
    response = api(host).get(path, {"format": "xml"})

    body = assert_problem(response, 406, "not_acceptable")
    assert body["detail"] == "Ce format n'est pas disponible ici."


def test_a_known_format_still_works(api):
    response = api(PUBLIC_HOST).get("/api/v1/agencies/", {"format": "json"})

    assert response.status_code == 200


def test_a_page_beyond_the_list_is_a_declared_404(api, served_schema):
    response = api(PUBLIC_HOST).get("/api/v1/agencies/", {"page": 999})

    assert_problem(response, 404, "not_found")
    declared = served_schema(PUBLIC_HOST)["paths"]["/api/v1/agencies/"]["get"]["responses"]
    assert declared["404"] == {"$ref": "#/components/responses/PageNotFound"}
