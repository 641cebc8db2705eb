"""Assertions shared by the tests."""

from __future__ import annotations

from typing import Any


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with this status and code."""
    assert response.status_code == status, (response.status_code, getattr(response, "content", b""))
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["type"].endswith(code)
    assert body["title"]
    assert body["detail"]
    assert body["request_id"] == response["X-Request-ID"]
    return body


def running_database_url() -> str:
    """The URL of the database this test run uses, for processes the tests start (gunicorn,
    Celery workers): a TCP server (the CI machine's) or the embedded server's unix socket
    (``?host=/socket/dir``, as `make test` with no service variable runs)."""
    from django.db import connection

    settings = connection.settings_dict
    user, password = settings.get("USER") or "", settings.get("PASSWORD") or ""
    credentials = f"{user}:{password}@" if password else f"{user}@"
    host, port, name = settings.get("HOST") or "", settings.get("PORT") or "", settings["NAME"]
    if host.startswith("/"):
        return f"postgresql://{credentials}/{name}?host={host}"
    return f"postgresql://{credentials}{host or '127.0.0.1'}:{port or 5432}/{name}"
