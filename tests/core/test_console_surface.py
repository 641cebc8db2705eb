"""The console and operations surface: Content-Security-Policy, /metrics behind a token, and a
locked account that reveals nothing more than a missing one."""

from __future__ import annotations

import re

import pytest

from tests.conftest import HOST_A, PUBLIC_HOST
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", re.IGNORECASE)


def policy_of(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.parametrize(
    ("host", "path"),
    [
        (HOST_A, "/admin/login/"),
        (PUBLIC_HOST, "/admin/login/"),
        (HOST_A, "/api/docs/"),
        (PUBLIC_HOST, "/api/redoc/"),
    ],
)
def test_html_pages_carry_a_policy_without_inline_scripts(api, agency_a, host, path):
    response = api(host).get(path)

    assert response.status_code == 200
    policy = policy_of(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert not INLINE_SCRIPT.search(response.content.decode())


def test_swagger_ui_start_up_script_is_a_file_of_the_same_origin(api):
    page = api().get("/api/docs/").content.decode()
    [script_url] = re.findall(r'<script src="([^"]*\?script[^"]*)"', page)

    script = api().get(script_url.replace("&amp;", "&"))

    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


def test_json_answers_carry_no_policy(api, agency_a):
    response = api(HOST_A).get("/api/v1/services/")

    assert response.status_code == 200
    assert "Content-Security-Policy" not in response


# --- /metrics ------------------------------------------------------------------------------


def test_metrics_need_the_bearer_token(api, settings):
    settings.METRICS_TOKEN = "metrics-token-for-tests-0123456789"

    missing = api().get("/metrics")
    wrong = api().get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    basic = api().get("/metrics", HTTP_AUTHORIZATION="Basic bWV0cmljczp4")
    right = api().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}")

    for refused in (missing, wrong, basic):
        assert_problem(refused, 401, "not_authenticated")
        assert refused["WWW-Authenticate"].startswith("Bearer")
        assert b"guichet_http_requests_total" not in refused.content
    assert right.status_code == 200
    assert b"guichet_http_requests_total" in right.content


def test_metrics_without_a_token_are_not_served_unless_debug(api, settings):
    settings.METRICS_TOKEN = ""
    settings.DEBUG = False
    assert_problem(api().get("/metrics"), 404, "not_found")

    settings.DEBUG = True
    assert api().get("/metrics").status_code == 200


# --- a locked account says no more than a missing one --------------------------------------


def test_a_locked_account_answers_exactly_like_a_missing_one(api, citizen, settings):
    def attempts(login: str):
        client = api(PUBLIC_HOST)
        answers = [
            client.post("/api/v1/auth/token/", {"login": login, "password": "pas la bonne"})
            for _ in range(settings.LOCKOUT_ACCOUNT_MAX_FAILURES + 2)
        ]
        return answers

    existing = attempts(citizen.email)
    missing = attempts("personne-ici@example.tg")

    for known, unknown in zip(existing, missing, strict=True):
        assert known.status_code == unknown.status_code
        known_body, unknown_body = known.json(), unknown.json()
        known_body.pop("request_id"), unknown_body.pop("request_id")
        assert known_body == unknown_body
        assert sorted(known.headers) == sorted(unknown.headers)
    assert existing[-1].status_code in (401, 423, 429)  # the lock is reached in both cases
    assert existing[-1].json()["code"] == missing[-1].json()["code"] != existing[0].json()["code"]
