"""The served OpenAPI documents say exactly what the API does (issue 11, item 5)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from apps.idempotency.errors import IdempotencyKeyInvalid
from apps.idempotency.services import parse_key
from tests.conftest import HOST_A, PUBLIC_HOST
from tests.contract.schema_walk import operations

pytestmark = pytest.mark.django_db

HOSTS = [PUBLIC_HOST, HOST_A]


def test_the_public_host_serves_the_public_schema(served_schema):
    public = served_schema(PUBLIC_HOST)["paths"]
    agency = served_schema(HOST_A)["paths"]

    assert "/api/v1/platform/agencies/" in public
    assert "/api/v1/me/applications/" in public
    assert "/api/v1/applications/" not in public
    assert "/api/v1/applications/" in agency
    assert "/api/v1/platform/agencies/" not in agency


@pytest.mark.parametrize("host", HOSTS)
def test_every_error_is_a_problem_document(served_schema, host):
    schema = served_schema(host)
    shared = schema["components"]["responses"]

    for path, _method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            if "$ref" in response:
                response = shared[response["$ref"].rsplit("/", 1)[1]]
            assert list(response["content"]) == ["application/problem+json"], (path, status)
            media = response["content"]["application/problem+json"]
            assert media["schema"] == {"$ref": "#/components/schemas/Problem"}, (path, status)


@pytest.mark.parametrize("host", HOSTS)
def test_every_operation_declares_the_statuses_any_operation_can_give(served_schema, host):
    schema = served_schema(host)

    for path, method, operation in operations(schema):
        declared = set(operation["responses"])
        assert {"401", "406", "429", "503"} <= declared, (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= declared, (method, path)
        if "{" in path:
            assert "404" in declared, (method, path)


@pytest.mark.parametrize("host", HOSTS)
def test_lists_are_declared_with_their_pagination_envelope(served_schema, host):
    schema = served_schema(host)
    components = schema["components"]["schemas"]
    lists = 0

    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if not status.startswith("2"):
                continue
            for _media_type, media in response.get("content", {}).items():
                body = media.get("schema", {})
                assert body.get("type") != "array", f"{method} {path} is a bare array"
                name = body.get("$ref", "").rsplit("/", 1)[-1]
                if name.startswith("Paginated"):
                    lists += 1
                    assert {"next", "previous", "results"} <= set(components[name]["properties"])

    assert lists >= (2 if host == PUBLIC_HOST else 7)


def test_bodies_that_refuse_unknown_fields_are_declared_closed(served_schema, api):
    components = served_schema(HOST_A)["components"]["schemas"]

    assert components["TokenObtainInputRequest"]["additionalProperties"] is False
    assert components["ApplicationCreateInputRequest"]["additionalProperties"] is False
    # ... and they do refuse them:
    response = api(PUBLIC_HOST).post(
        "/api/v1/auth/token/", {"login": "a@example.tg", "password": "x", "extra": 1}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_field"


def _idempotency_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        parameter
        for _path, _method, operation in operations(schema)
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "Idempotency-Key"
    ]


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("0b8f5c1e-4d6a-4f3b-9a2e-7c1d5e8f9a0b", True),
        ("!~", True),
        ("x" * 255, True),
        ("", False),
        ("x" * 256, False),
        ("with space", False),
        ("é", False),
    ],
)
def test_the_idempotency_key_format_is_declared_as_checked(served_schema, key, valid):
    parameters = _idempotency_parameters(served_schema(HOST_A))
    assert parameters
    for parameter in parameters:
        declared = parameter["schema"]
        matches = (
            declared["minLength"] <= len(key) <= declared["maxLength"]
            and re.fullmatch(declared["pattern"].strip("^$"), key) is not None
        )
        assert matches is valid
    try:
        parse_key(key)
        accepted = True
    except IdempotencyKeyInvalid:
        accepted = False
    assert accepted is valid


def test_the_workflow_is_declared_with_links(served_schema):
    agency = served_schema(HOST_A)["paths"]
    public = served_schema(PUBLIC_HOST)["paths"]

    create = agency["/api/v1/applications/"]["post"]["responses"]["201"]["links"]
    assert create["Submit"] == {
        "operationId": "applications_submit",
        "parameters": {"id": "$response.body#/id", "header.If-Match": "$response.header.ETag"},
    }
    submit = agency["/api/v1/applications/{id}/submit/"]["post"]["responses"]["200"]["links"]
    assert submit["Take"]["operationId"] == "staff_applications_take"
    take = agency["/api/v1/staff/applications/{id}/take/"]["post"]["responses"]["200"]["links"]
    assert {link["operationId"] for link in take.values()} >= {
        "staff_applications_approve",
        "staff_applications_reject",
        "staff_applications_request_info",
    }
    agencies = public["/api/v1/platform/agencies/"]["post"]["responses"]["201"]["links"]
    assert agencies["Retrieve"]["parameters"] == {"slug": "$response.body#/slug"}
    # Only operations of the same schema are linked.
    assert "links" not in public["/api/v1/me/applications/"]["get"]["responses"]["200"]
