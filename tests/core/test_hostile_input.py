"""Hostile bodies are 4xx problem documents, never a 500: depth, NUL, lone surrogates, OPTIONS.

The checks live in the parsers (apps/core/parsers.py), the renderer and the problem documents
(apps/core/renderers.py, apps/core/exceptions.py) and the metadata class (apps/core/metadata.py),
so every endpoint gets them; these tests go through real endpoints, with and without a login.
"""

from __future__ import annotations

import json

import pytest
from django.test import RequestFactory

from apps.accounts.models import Role, User
from apps.accounts.tokens import TokenKind
from apps.core.exceptions import problem_response
from apps.core.renderers import JSONRenderer
from tests.conftest import HOST_A, PUBLIC_HOST
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
PARTNER_TOKEN = "/api/v1/auth/partner-token/"


def nested(depth: int) -> str:
    return '{"email": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize("path", [REGISTER, TOKEN])
@pytest.mark.parametrize("depth", [40, 5_000, 100_000])
def test_deeply_nested_json_is_400_json_too_deep_without_login(api, path, depth):
    response = api().post(path, data=nested(depth), content_type="application/json")

    assert_problem(response, 400, "json_too_deep")
    assert not User.objects.exists()


def test_json_at_the_depth_limit_is_parsed(api, settings):
    settings.API_JSON_MAX_DEPTH = 4
    at_limit = '{"email": [[["x"]]]}'  # object, then three lists: depth 4

    response = api().post(REGISTER, data=at_limit, content_type="application/json")

    assert_problem(response, 400, "validation_failed")  # parsed, then refused by the serializer
    deeper = '{"email": [[[["x"]]]]}'
    assert_problem(
        api().post(REGISTER, data=deeper, content_type="application/json"), 400, "json_too_deep"
    )


@pytest.mark.parametrize(
    "body",
    [
        '{"email": "a\\u0000b@example.tg", "password": "une-phrase-longue"}',
        '{"email": "a@example.tg", "password": "une-phrase\\u0000-longue"}',
        '{"email\\u0000": "a@example.tg", "password": "une-phrase-longue"}',
        '{"email": "a\\ud800@example.tg", "password": "une-phrase-longue"}',
        '{"email": "a@example.tg", "password": "une-phrase-longue\\udfff"}',
        '{"email": "a@example.tg", "password": ["x", {"y": "\\u0000"}]}',
    ],
)
def test_nul_and_lone_surrogates_are_400_invalid_character_and_nothing_is_stored(api, body):
    response = api().post(REGISTER, data=body, content_type="application/json")

    problem = assert_problem(response, 400, "invalid_character")
    assert "\x00" not in response.content.decode()
    assert all("\x00" not in name for name in problem.get("errors", {}))
    assert not User.objects.exists()


def test_a_valid_surrogate_pair_is_ordinary_text(api):
    body = '{"email": "a@example.tg", "password": "une-phrase-longue-\\ud83d\\ude00"}'

    response = api().post(REGISTER, data=body, content_type="application/json")

    assert response.status_code == 201, response.content


def test_the_invalid_character_path_names_the_field_not_the_character(api):
    body = '{"email": "a@example.tg", "password": ["x", {"y\\u0000z": 1, "w": "\\u0000"}]}'

    problem = assert_problem(
        api().post(REGISTER, data=body, content_type="application/json"), 400, "invalid_character"
    )
    [(field, _messages)] = problem["errors"].items()
    assert field in ("password.1", "password.1.w")


@pytest.mark.parametrize("raw", [b'{"email": "\xed\xa0\x80"}', b'{"email": "\xff"}', b"{"])
def test_bytes_that_are_not_utf8_json_are_400_malformed_request(api, raw):
    response = api().post(REGISTER, data=raw, content_type="application/json")

    assert_problem(response, 400, "malformed_request")
    assert b"\xed" not in response.content
    assert b"\xff" not in response.content


def test_form_encoded_fields_are_checked_too(api, agency_a):
    for body in ("grant_type=client_credentials&client_id=a%00b", "grant_type%00=x"):
        response = api(HOST_A).post(
            PARTNER_TOKEN, data=body, content_type="application/x-www-form-urlencoded"
        )
        assert_problem(response, 400, "invalid_character")


def test_multipart_fields_are_checked_too(api, citizen, tokens):
    client = api(PUBLIC_HOST, tokens(citizen).access)
    response = client.patch("/api/v1/me/", data={"first_name": "a\x00b"}, format="multipart")

    assert_problem(response, 400, "invalid_character")
    citizen.refresh_from_db()
    assert citizen.first_name != "a\x00b"


# --- text that cannot be encoded never crashes the answer ------------------------------------


def test_the_renderer_replaces_lone_surrogates_instead_of_failing():
    data = {"detail": "a\ud800b", "errors": {"x\udfff": ["\ud83d"]}, "n": 1}

    rendered = JSONRenderer().render(data)

    assert json.loads(rendered) == {
        "detail": "a\ufffdb",
        "errors": {"x\ufffd": ["\ufffd"]},
        "n": 1,
    }


def test_the_renderer_falls_back_for_types_orjson_does_not_know():
    from decimal import Decimal

    from django.utils.translation import gettext_lazy

    data = {"a": Decimal("1.5"), "b": gettext_lazy("Yes"), "c": "\ud800", "d": {"\ud800"}}

    rendered = JSONRenderer().render(data)

    # DRF's encoder turns the set into a list after the clean-up: escaped as ASCII then.
    assert json.loads(rendered) == {"a": 1.5, "b": "Oui", "c": "\ufffd", "d": ["\ud800"]}
    assert rendered.isascii()


def test_a_problem_echoing_a_lone_surrogate_is_rendered():
    response = problem_response(
        status=400, code="validation_failed", detail="x\ud800", errors={"f\udc00": ["\ud800"]}
    )

    body = json.loads(response.content)
    assert body["detail"] == "x\ufffd"
    assert body["errors"] == {"f\ufffd": ["\ufffd"]}


def test_a_drf_error_echoing_a_lone_surrogate_is_rendered(api, citizen, tokens):
    # A value that reaches a serializer without the parsers (a query string is decoded with
    # replacement characters by Django, so only code can do this): the handler still answers.
    from rest_framework.exceptions import ValidationError

    from apps.core.exceptions import problem_exception_handler

    request = RequestFactory().get("/")
    response = problem_exception_handler(
        ValidationError({"lang\ud800": ['"\ud800" is not a valid choice.']}), {"request": request}
    )
    rendered = JSONRenderer().render(response.data)
    assert json.loads(rendered)["errors"] == {"lang\ufffd": ['"\ufffd" is not a valid choice.']}


# --- OPTIONS -------------------------------------------------------------------------------


@pytest.mark.parametrize("segment", ["take", "assign", "approve", "reject", "notes"])
def test_options_on_staff_action_routes_answers_200(api, agency_a, staff_of, tokens, segment):
    agent = staff_of(agency_a, Role.AGENT)
    token = tokens(agent, TokenKind.STAFF, agency=agency_a, role=Role.AGENT).access
    path = f"/api/v1/staff/applications/00000000-0000-4000-8000-000000000000/{segment}/"

    response = api(HOST_A, token).options(path)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["parses"] == ["application/json", "multipart/form-data"]
    assert "actions" not in body
    assert "POST" in response["Allow"]


def test_options_without_a_login_is_401_problem(api, agency_a):
    response = api(HOST_A).options("/api/v1/staff/applications/")

    assert_problem(response, 401, "not_authenticated")
