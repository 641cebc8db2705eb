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


def totp_device_for(user: Any) -> Any:
    """The person's confirmed authenticator (django-otp TOTP device), created if need be."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def totp_now(device: Any, *, step_offset: int = 0) -> str:
    """The code the person's authenticator app shows now (or ``step_offset`` steps away)."""
    import time

    return f"{_totp_at(device, time.time() + step_offset * device.step):0{device.digits}d}"


def _totp_at(device: Any, at: float) -> int:
    from django_otp.oath import TOTP

    generator = TOTP(device.bin_key, device.step, device.t0, device.digits)
    generator.time = at
    return int(generator.token())


def otp_login(client: Any, user: Any) -> Any:
    """``client.force_login(user)`` plus a session that passed the second factor, as the
    console's code step leaves it (tests of console pages, not of the sign-in itself)."""
    from django_otp import DEVICE_ID_SESSION_KEY

    device = totp_device_for(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def console_sign_in(
    client: Any, login: str, password: str, user: Any = None, host: str | None = None
) -> Any:
    """Sign in to the console of the client's host as a person does: the password, then a
    code of their authenticator (created for ``user`` if they have none). Returns the
    response of the code step (a redirect into the console when all went well), or of the
    password step when it failed."""
    from apps.accounts.models import User

    extra = {"HTTP_HOST": host} if host else {}
    response = client.post(
        "/admin/login/?next=/admin/", {"username": login, "password": password}, **extra
    )
    if response.status_code != 302 or "/mfa/" not in response["Location"]:
        return response
    person = user or User.objects.get(email=User.objects.normalize_email(login))
    device = totp_device_for(person)
    return client.post("/admin/mfa/verify/", {"otp": _fresh_code(device)}, **extra)


def _fresh_code(device: Any) -> str:
    """A code not used yet on this device (django-otp refuses a time step used before)."""
    import time

    device.refresh_from_db()
    step = int((time.time() - device.t0) // device.step)
    offset = max(-1, device.last_t + 1 - step)  # tolerance is one step either way
    return f"{_totp_at(device, time.time() + offset * device.step):0{device.digits}d}"
