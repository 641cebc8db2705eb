"""Every error is an RFC 9457 problem document with a stable code and the request id."""

from __future__ import annotations

import pytest

from apps.accounts.api import views as account_views
from apps.accounts.models import User
from apps.accounts.tokens import TokenKind
from tests.conftest import HOST_A, PUBLIC_HOST
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"


def test_malformed_json_is_400_and_writes_nothing(api):
    response = api().post(
        REGISTER, data='{"email": "x@example.tg",', content_type="application/json"
    )

    assert_problem(response, 400, "malformed_request")
    assert not User.objects.exists()


def test_wrong_content_type_is_415(api):
    response = api().post(REGISTER, data="email=x", content_type="text/plain")

    assert_problem(response, 415, "unsupported_media_type")


def test_oversized_body_is_413_before_parsing(api, settings):
    settings.API_MAX_BODY_BYTES = 64
    body = '{"email": "x@example.tg", "password": "' + "p" * 100 + '"}'

    response = api().post(REGISTER, data=body, content_type="application/json")

    assert_problem(response, 413, "payload_too_large")
    assert not User.objects.exists()


def test_unknown_field_is_400_naming_the_field(api):
    response = api().post(
        REGISTER,
        {"email": "x@example.tg", "password": "une-phrase-longue", "nickname": "x"},
        format="json",
    )

    body = assert_problem(response, 400, "unknown_field")
    assert list(body["errors"]) == ["nickname"]
    assert not User.objects.exists()


def test_missing_field_is_400_with_field_errors(api):
    response = api().post(REGISTER, {"email": "x@example.tg"}, format="json")

    body = assert_problem(response, 400, "validation_failed")
    assert "password" in body["errors"]


def test_wrong_method_is_405(api):
    assert_problem(api().get(REGISTER), 405, "method_not_allowed")


def test_unknown_url_is_404_problem(api):
    assert_problem(api().get("/api/v1/nothing-here/"), 404, "not_found")


def test_unknown_host_is_404_agency_not_found(api):
    assert_problem(api("nowhere.localhost").get("/healthz"), 404, "agency_not_found")


def test_crash_is_500_with_request_id_and_is_logged(api, citizen, tokens, monkeypatch, caplog):
    def explode(self, request):
        raise RuntimeError("boom")

    monkeypatch.setattr(account_views.MeViewSet, "retrieve", explode)
    token = tokens(citizen).access

    response = api(HOST_A, token).get("/api/v1/me/")

    body = assert_problem(response, 500, "internal_error")
    assert "boom" not in response.content.decode()
    assert any("unhandled_exception" in r.getMessage() for r in caplog.records)
    assert body["request_id"]


def test_incoming_request_id_is_kept_when_well_formed(api):
    response = api().get("/healthz", HTTP_X_REQUEST_ID="partner-trace-0001")

    assert response["X-Request-ID"] == "partner-trace-0001"


def test_malformed_request_id_is_replaced(api):
    response = api().get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")

    assert response["X-Request-ID"] != "bad id\nwith newline"
    assert len(response["X-Request-ID"]) == 32


def test_throttled_sign_in_is_429_with_retry_after(api, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"auth": "2/min", "register": "2/min"},
    }
    from rest_framework.throttling import ScopedRateThrottle

    ScopedRateThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    try:
        client = api(PUBLIC_HOST)
        for _ in range(2):
            client.post("/api/v1/auth/token/", {"login": "a@example.tg", "password": "x"})
        response = client.post("/api/v1/auth/token/", {"login": "a@example.tg", "password": "x"})
    finally:
        from rest_framework.settings import api_settings

        ScopedRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES

    assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


def test_citizen_token_on_platform_api_is_403(api, citizen, tokens):
    token = tokens(citizen, TokenKind.CITIZEN).access

    assert_problem(
        api(PUBLIC_HOST, token).get("/api/v1/platform/agencies/"), 403, "permission_denied"
    )


def test_missing_token_on_protected_endpoint_is_401(api):
    response = api().get("/api/v1/me/")

    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_errors_follow_accept_language(api):
    english = api().get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="en").json()["detail"]
    french = api().get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="fr").json()["detail"]

    assert english == "Authentication credentials were not provided."
    assert french != english
