"""Every answer under /api/ is a problem document, with DEBUG on (``make run``) and off.

Django answers some requests itself, before or around DRF: a refused ``Host``, and with DEBUG
the technical 404 page (which lists every URL pattern) and 500 page. Under ``/api/`` they are
problem documents too; the console keeps its HTML.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.agencies import middleware as agency_middleware
from tests.conftest import HOST_A, PUBLIC_HOST
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

MODES = pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])


@pytest.fixture
def mode(settings, request):
    settings.DEBUG = request.param
    return request.param


@MODES
@pytest.mark.parametrize("path", ["/api/v1/services/", "/api/v1/nothing/", "/api/docs/"])
def test_a_refused_host_is_a_400_problem(api, settings, debug, path):
    settings.DEBUG = debug

    response = api("evil.example").get(path, HTTP_ACCEPT_LANGUAGE="en")

    body = assert_problem(response, 400, "host_not_allowed")
    assert body["detail"] == "This host name is not served here."
    assert "evil.example" not in response.content.decode()


@MODES
def test_a_refused_host_answers_in_french_by_default(api, settings, debug):
    settings.DEBUG = debug

    body = assert_problem(api("evil.example").get("/api/v1/me/"), 400, "host_not_allowed")

    assert body["detail"] == "Ce nom d'hôte n'est pas servi ici."


@MODES
def test_the_console_keeps_html_for_a_refused_host(api, settings, debug):
    settings.DEBUG = debug

    response = api("evil.example").get("/admin/")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


@MODES
@pytest.mark.parametrize("host", [PUBLIC_HOST, HOST_A])
@pytest.mark.parametrize("path", ["/api/v1/nothing-here/", "/api/", "/api/v2/services/"])
def test_an_unknown_api_path_is_a_404_problem_without_the_url_list(
    api, agency_a, settings, debug, host, path
):
    settings.DEBUG = debug

    response = api(host).get(path)

    assert_problem(response, 404, "not_found")
    assert b"api/v1/" not in response.content  # Django's DEBUG page lists the URL patterns


def test_the_console_keeps_its_html_404_in_debug(api, agency_a, settings):
    settings.DEBUG = True

    response = api(HOST_A).get("/admin/nothing/here/")

    assert response["Content-Type"].startswith("text/html")


@MODES
def test_a_wrong_method_is_a_405_problem(api, settings, debug):
    settings.DEBUG = debug

    response = api().delete("/api/v1/auth/register/")

    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response["Allow"]


@MODES
def test_a_crash_outside_drf_is_a_500_problem_with_the_request_id(
    api, settings, debug, monkeypatch, caplog
):
    settings.DEBUG = debug

    def explode(host):
        raise RuntimeError("secret detail of the crash")

    monkeypatch.setattr(agency_middleware, "agency_for_host", explode)

    client = APIClient(HTTP_HOST=HOST_A, raise_request_exception=False)  # as a server does

    response = client.get("/api/v1/services/", HTTP_X_REQUEST_ID="trace-crash-0001")

    body = assert_problem(response, 500, "internal_error")
    assert body["request_id"] == "trace-crash-0001"
    assert b"secret detail" not in response.content
    assert b"Traceback" not in response.content
    [logged] = [r for r in caplog.records if "unhandled_exception" in r.getMessage()]
    assert logged.exc_info[0] is RuntimeError


@MODES
def test_a_crash_outside_api_paths_keeps_django_handling(api, settings, debug, monkeypatch):
    settings.DEBUG = debug
    monkeypatch.setattr(agency_middleware, "agency_for_host", lambda host: 1 / 0)

    client = APIClient(HTTP_HOST=HOST_A, raise_request_exception=False)

    response = client.get("/admin/")

    assert response.status_code == 500
    if debug:  # Django's technical page; without DEBUG, handler500 (already a problem)
        assert response["Content-Type"].startswith("text/html")
