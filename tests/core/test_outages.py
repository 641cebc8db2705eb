"""Outages are answered clearly: 503 problem documents with Retry-After, the console's French
maintenance page, /readyz naming the part, and recovery without a restart (real PostgreSQL:
a connection to a closed port, a backend terminated by pg_terminate_backend)."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from rest_framework.test import APIClient

from apps.agencies import hostcache
from apps.core.exceptions import problem_exception_handler
from tests.conftest import HOST_A, PUBLIC_HOST
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

SERVICES = "/api/v1/services/"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens there once the socket is closed


@contextmanager
def database(**overrides: Any) -> Iterator[Any]:
    """Serve this thread's requests from another connection to PostgreSQL (a real one)."""
    original = connections["default"]
    replacement = type(original)({**original.settings_dict, **overrides}, alias="default")
    connections["default"] = replacement
    try:
        yield replacement
    finally:
        replacement.close()
        connections["default"] = original


def _client(host: str) -> APIClient:
    client = APIClient(HTTP_HOST=host)
    client.raise_request_exception = False  # answer as in production, not re-raise
    return client


def test_database_down_before_the_view_is_a_503_problem_not_a_500() -> None:
    hostcache.clear()
    with database(PORT=str(_closed_port()), CONN_HEALTH_CHECKS=False):
        response = _client(HOST_A).get(SERVICES)

    body = assert_problem(response, 503, "database_unavailable")
    assert body["part"] == "database"
    assert response["Retry-After"] == "5"
    assert "Traceback" not in response.content.decode()


def test_database_down_in_a_view_is_a_503_problem(citizen: Any, tokens: Any) -> None:
    access = tokens(citizen).access
    with database(PORT=str(_closed_port()), CONN_HEALTH_CHECKS=False):
        client = _client(PUBLIC_HOST)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        response = client.get("/api/v1/me/")

    body = assert_problem(response, 503, "database_unavailable")
    assert body["part"] == "database"


def test_the_console_shows_a_french_maintenance_page(settings: Any) -> None:
    hostcache.clear()
    with database(PORT=str(_closed_port()), CONN_HEALTH_CHECKS=False):
        on_agency = _client(HOST_A).get("/admin/login/")
        # The login form itself needs no database; signing in does.
        on_platform = _client(PUBLIC_HOST).post(
            "/admin/login/",
            {"username": "agent@example.tg", "password": "a-long-password"},
            format="multipart",
        )

    for response in (on_agency, on_platform):
        assert response.status_code == 503
        assert response["Content-Type"].startswith("text/html")
        assert response["Retry-After"] == "5"
        page = response.content.decode()
        assert "Service momentanément indisponible" in page
        assert "Traceback" not in page
        assert "OperationalError" not in page


def test_readyz_names_the_database_when_it_is_down() -> None:
    with database(PORT=str(_closed_port()), CONN_HEALTH_CHECKS=False):
        response = _client(PUBLIC_HOST).get("/readyz")

    body = assert_problem(response, 503, "not_ready")
    assert body["checks"]["database"] == "unavailable"
    assert body["checks"]["hotkeys"] == "ok"


def test_requests_recover_once_the_database_is_back() -> None:
    hostcache.clear()
    with database(PORT=str(_closed_port()), CONN_HEALTH_CHECKS=False):
        assert _client(HOST_A).get(SERVICES).status_code == 503

    assert _client(HOST_A).get(SERVICES).status_code == 200


def _wsgi_get(host: str, path: str) -> int:
    """One request through Django's WSGI handler, as gunicorn makes it (with the
    request_started / request_finished signals the test client leaves out)."""
    statuses: list[str] = []
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SERVER_NAME": host,
        "SERVER_PORT": "80",
        "HTTP_HOST": host,
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
    }
    result = WSGIHandler()(environ, lambda status, headers: statuses.append(status))
    b"".join(result)
    result.close()  # type: ignore[attr-defined]
    return int(statuses[0].split()[0])


def test_a_terminated_database_connection_is_replaced_without_a_restart() -> None:
    test_connection = connections["default"]  # django.db.connection follows the swap
    # A persistent connection (CONN_MAX_AGE) outside the test's transaction, as in production.
    with database(CONN_MAX_AGE=60, CONN_HEALTH_CHECKS=True) as served:
        hostcache.clear()
        assert _wsgi_get(HOST_A, SERVICES) == 200
        backend_pid = served.connection.info.backend_pid

        with test_connection.cursor() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
        hostcache.clear()  # the next request needs the database at once
        statuses = [_wsgi_get(HOST_A, SERVICES) for _ in range(3)]

    assert statuses == [200, 200, 200]
    assert served.connection is None or served.connection.info.backend_pid != backend_pid


def test_a_broker_that_refuses_a_publish_is_a_503_broker_unavailable(settings: Any) -> None:
    from kombu import Connection
    from kombu.exceptions import OperationalError as KombuOperationalError

    with (
        Connection(f"redis://127.0.0.1:{_closed_port()}/0", connect_timeout=1) as broker,
        pytest.raises(KombuOperationalError) as refused,
    ):
        broker.ensure_connection(max_retries=1, timeout=1)

    response = problem_exception_handler(refused.value, {})

    assert response.status_code == 503
    assert response.data["code"] == "broker_unavailable"
    assert response.data["part"] == "broker"
    assert response["Retry-After"] == "5"


def test_the_client_address_comes_from_a_trusted_proxy_only(settings: Any) -> None:
    from django.test import RequestFactory

    from apps.core.middleware import client_ip

    forwarded = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.7, 198.51.100.9"
    )
    settings.TRUSTED_PROXIES = []
    assert client_ip(forwarded) == "10.0.0.5"
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(forwarded) == "198.51.100.9"  # the proxy's own entry: the last one
    settings.TRUSTED_PROXIES = ["192.168.0.0/16"]
    assert client_ip(forwarded) == "10.0.0.5"
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    forged = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert client_ip(forged) == "10.0.0.5"


def test_a_pool_timeout_is_a_503_database_unavailable() -> None:
    # A pool of one connection, held by someone else: the request waits 0.5 s and gives up.
    original = connections["default"]
    pooled = {
        **original.settings_dict,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "OPTIONS": {
            **original.settings_dict["OPTIONS"],
            "pool": {"min_size": 1, "max_size": 1, "timeout": 0.5},
        },
    }
    holder = type(original)(pooled, alias="default")
    holder.ensure_connection()
    try:
        hostcache.clear()
        with database(**pooled) as served:
            response = _client(HOST_A).get(SERVICES)
    finally:
        holder.close()
        served.close_pool()

    body = assert_problem(response, 503, "database_unavailable")
    assert body["part"] == "database"
