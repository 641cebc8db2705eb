"""Every route of both URL confs, fed hostile input by every kind of caller: never a 5xx.

The routes are read from the URL confs themselves (``config.urls_tenant`` on an agency host,
``config.urls_public`` on the public host, the console included), so a route added later is
covered without touching this test. Each route gets ``OPTIONS``; ``GET`` with hostile query
parameters (calendar edges for every date filter, NUL, huge numbers); and every write method
with JSON nested thousands of levels deep, with a NUL character and with a lone surrogate, as
an anonymous caller and with each kind of token the host accepts. Every error answered under
``/api/`` must also be a problem document. Throttles are off so that
every request reaches the code under test; ids are those of real objects where the route names
a ``pk`` (an application of the citizen, submitted), random UUIDs elsewhere.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import Resolver404, get_resolver, resolve
from django.urls.converters import IntConverter, UUIDConverter

from apps.accounts.models import Role
from apps.accounts.services import partner_client_create
from apps.accounts.tokens import TokenKind, issue_partner_token
from tests.applications.conftest import advance, draft, service_create
from tests.conftest import HOST_A, PUBLIC_HOST

pytestmark = pytest.mark.django_db

HOSTILE_QUERY = {
    "submitted_from": "0001-01-01",
    "submitted_to": "9999-12-31",
    "occurred_at_after": "0001-01-01T00:00:00+14:00",
    "occurred_at_before": "9999-12-31T23:59:59-12:00",
    "page": "99999999999999999999999",
    "page_size": "-1",
    "cursor": "\x00",
    "from_sequence": "99999999999999999999999",
    "to_sequence": "99999999999999999999999",
    "q": "a\x00b",
    "status": "\x00",
    "service": "x\x00",
    "assignee": "\x00",
    "lang": "\x00",
}
DEPTH = 10_000
HOSTILE_BODIES = {
    "deep": '{"a": ' + "[" * DEPTH + "]" * DEPTH + "}",
    "nul": '{"service": "x\\u0000", "form_data": {"nom": "\\u0000"}, "reason": "\\u0000",'
    ' "email": "a\\u0000@example.tg", "password": "\\u0000", "note": "\\u0000"}',
    "surrogate": '{"service": "\\ud800", "form_data": {"nom": "\\udfff"}, "reason": "\\ud800",'
    ' "email": "\\ud800@example.tg", "password": "\\udbff", "note": "\\ud800"}',
}
WRITE_METHODS = ("post", "put", "patch", "delete")
_counter = itertools.count()


def route_formats(urlconf: str) -> Iterator[tuple[str, list[str], dict[str, Any]]]:
    """``("api/v1/x/%(pk)s/", ["pk"], converters)`` for every route, namespaces included."""

    def walk(resolver: Any, prefix: str) -> Iterator[tuple[str, list[str], dict[str, Any]]]:
        for _key, entries in resolver.reverse_dict.lists():
            for possibilities, _pattern, _defaults, converters in entries:
                for fmt, params in possibilities:
                    yield prefix + fmt, list(params), dict(converters)
        for _namespace, (sub_prefix, sub) in resolver.namespace_dict.items():
            yield from walk(sub, prefix + sub_prefix)

    seen: set[str] = set()
    for fmt, params, converters in walk(get_resolver(urlconf), ""):
        if fmt not in seen:
            seen.add(fmt)
            yield fmt, params, converters


def concrete_paths(urlconf: str, ids: dict[str, str]) -> list[str]:
    """One path per route that resolves in ``urlconf``; fails on a route it cannot build."""
    paths = []
    for fmt, params, converters in route_formats(urlconf):
        candidates_per_param = []
        for name in params:
            converter = converters.get(name)
            if isinstance(converter, UUIDConverter):
                candidates = [ids.get(name, str(uuid.uuid4()))]
            elif isinstance(converter, IntConverter):
                candidates = ["1"]
            else:  # str, slug, path, or a regex group (the console's app labels)
                candidates = [ids.get(name, "x"), "accounts", "1"]
            candidates_per_param.append(candidates)
        for values in itertools.product(*candidates_per_param):
            path = "/" + fmt % dict(zip(params, values, strict=True))
            try:
                resolve(path, urlconf)
            except Resolver404:
                continue
            paths.append(path)
            break
        else:
            pytest.fail(f"no sample path resolves for the route {fmt!r} of {urlconf}")
    return paths


def assert_no_server_error(response: Any, what: str) -> None:
    """No 5xx; and under /api/, every error is a problem document."""
    assert response.status_code < 500, (what, response.status_code, response.content[:300])
    if response.status_code >= 400 and response.request["PATH_INFO"].startswith("/api/"):
        content_type = response["Content-Type"]
        assert content_type.startswith("application/problem+json"), (what, content_type)


@pytest.fixture
def no_throttles(settings: Any) -> None:
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = dict.fromkeys(rest["DEFAULT_THROTTLE_RATES"], "")
    settings.REST_FRAMEWORK = rest


def hammer(api: Any, host: str, paths: list[str], tokens: dict[str, str | None]) -> int:
    sent = 0
    for path in paths:
        if path.startswith("/admin/"):
            # The console signs in with a session, not a token; it parses forms, not JSON.
            client = api(host)
            assert_no_server_error(client.options(path), f"OPTIONS {path}")
            assert_no_server_error(client.get(path, HOSTILE_QUERY), f"GET {path}")
            response = client.post(path, {"username": "a\x00", "password": "\x00", "q": "\x00"})
            assert_no_server_error(response, f"POST {path}")
            sent += 3
            continue
        for who, token in tokens.items():
            client = api(host, token)
            options = client.options(path)
            assert_no_server_error(options, f"OPTIONS {path} as {who}")
            assert_no_server_error(client.get(path, HOSTILE_QUERY), f"GET {path} as {who}")
            sent += 2
            # The bodies go to the methods the route has (``Allow``), or once to show a 405.
            allowed = {m.strip().lower() for m in options.get("Allow", "").split(",")}
            methods = [m for m in WRITE_METHODS if m in allowed] or ["post"]
            for method, (kind, body) in itertools.product(methods, HOSTILE_BODIES.items()):
                response = getattr(client, method)(
                    path,
                    data=body,
                    content_type="application/json",
                    HTTP_IDEMPOTENCY_KEY=f"hostile-{next(_counter)}",
                )
                assert_no_server_error(response, f"{method.upper()} {path} {kind} as {who}")
                sent += 1
    return sent


def test_every_agency_route_survives_hostile_input(
    api, no_throttles, agency_a, citizen, staff_of, tokens
):
    service_create(agency_a.schema_name)
    application = draft(agency_a.schema_name, citizen)
    application = advance(agency_a.schema_name, application, "submit", citizen, "citizen")
    admin = staff_of(agency_a, Role.AGENCY_ADMIN)
    scopes = ["applications:read", "catalogue:read", "certificates:verify"]
    client, _secret = partner_client_create(name="Banque", grants={agency_a: scopes})
    callers = {
        "anonymous": None,
        "citizen": tokens(citizen).access,
        "agency_admin": tokens(
            admin, TokenKind.STAFF, agency=agency_a, role=Role.AGENCY_ADMIN
        ).access,
        "partner": issue_partner_token(
            client_uuid=str(client.id),
            client_id=client.client_id,
            agency=agency_a.schema_name,
            scopes=scopes,
        ).access,
    }
    paths = concrete_paths("config.urls_tenant", {"pk": str(application.id), "code": "x"})

    sent = hammer(api, HOST_A, paths, callers)

    assert len(paths) > 150
    assert sent > 1_000


def test_every_public_route_survives_hostile_input(
    api, no_throttles, agency_a, citizen, platform_admin, tokens
):
    callers = {
        "anonymous": None,
        "citizen": tokens(citizen).access,
        "platform": tokens(platform_admin, TokenKind.PLATFORM).access,
    }
    paths = concrete_paths("config.urls_public", {"slug": agency_a.slug})

    sent = hammer(api, PUBLIC_HOST, paths, callers)

    assert len(paths) > 100
    assert sent > 500
