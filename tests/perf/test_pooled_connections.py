"""A pooled connection never carries one agency's search_path into another request.

With ``DATABASE_POOL=true`` a physical connection serves request after request, thread after
thread. django-tenants sets ``search_path`` per session and, with ``TENANT_LIMIT_SET_CALLS``,
only when it believes the session's path is not the wanted one; these tests borrow the same
physical connection (a pool of one) for requests of agency A, agency B and the public host, in
the order a worker would, and check what each request actually sees.

The pooled connections live outside the test's transaction, so they see only committed data:
the session's agencies A and B (their schemas hold ``applications_application``; the public
schema does not).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import RequestFactory
from django_tenants.postgresql_backend.base import DatabaseWrapper

from apps.agencies import middleware as agency_middleware
from apps.agencies.middleware import AgencyMiddleware
from apps.core import tenancy
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST

pytestmark = pytest.mark.django_db

ALIAS = "perf_pool"


@pytest.fixture
def pooled() -> Iterator[Callable[[], DatabaseWrapper]]:
    """``pooled()``: a new connection wrapper (one per request or thread) on a shared pool of
    exactly one physical connection, configured as ``DATABASE_POOL=true`` configures it."""
    settings_dict = copy.deepcopy(connections["default"].settings_dict)
    settings_dict["CONN_MAX_AGE"] = 0
    settings_dict["CONN_HEALTH_CHECKS"] = False
    settings_dict["OPTIONS"] = {
        **settings_dict["OPTIONS"],
        "pool": {"min_size": 1, "max_size": 1, "timeout": 5},
    }
    made: list[DatabaseWrapper] = []

    def make() -> DatabaseWrapper:
        wrapper = DatabaseWrapper(copy.deepcopy(settings_dict), alias=ALIAS)
        made.append(wrapper)
        return wrapper

    yield make
    for wrapper in made:
        wrapper.close()
    if made:
        made[0].close_pool()


def _sees(wrapper: DatabaseWrapper) -> dict[str, Any]:
    """What a query on this connection resolves: the schemas of its search path, the backend
    process (to prove it is the same physical connection), and an unqualified agency table."""
    with wrapper.cursor() as cursor:
        cursor.execute(
            "SELECT array_to_string(current_schemas(false), ','), pg_backend_pid(), "
            "to_regclass('applications_application')::text"
        )
        path, pid, table = cursor.fetchone()
    return {"path": path, "pid": pid, "table": table}


def test_one_physical_connection_serves_agency_a_then_b_then_public(pooled, agency_a, agency_b):
    first = pooled()
    first.set_tenant(agency_a)
    seen_a = _sees(first)
    first.close()  # end of the request: the connection goes back to the pool

    second = pooled()  # the next request, on another thread
    second.set_tenant(agency_b)
    seen_b = _sees(second)
    second.close()

    third = pooled()
    third.set_schema_to_public()
    seen_public = _sees(third)
    third.close()

    assert seen_a["pid"] == seen_b["pid"] == seen_public["pid"]  # really the same connection
    assert seen_a["path"] == "agence_a,public"
    assert seen_a["table"] == "applications_application"
    assert seen_b["path"] == "agence_b,public"
    assert seen_b["table"] == "applications_application"
    assert seen_public["path"] == "public"
    assert seen_public["table"] is None  # agency tables are not reachable from public


def test_the_same_thread_reborrowing_a_connection_sets_the_path_again(pooled, agency_a, agency_b):
    wrapper = pooled()
    wrapper.set_tenant(agency_a)
    seen_a = _sees(wrapper)
    wrapper.close()
    other = pooled()  # another thread moves the physical connection to agency B
    other.set_tenant(agency_b)
    _sees(other)
    other.close()

    # The first thread's next request is for agency A again: django-tenants must not trust
    # what it set on its previous connection.
    wrapper.set_tenant(agency_a)
    seen_again = _sees(wrapper)

    assert seen_again["pid"] == seen_a["pid"]
    assert seen_again["path"] == "agence_a,public"


def test_a_rolled_back_search_path_is_not_trusted_afterwards(pooled, agency_a):
    wrapper = pooled()
    wrapper.ensure_connection()
    wrapper.set_autocommit(False)
    wrapper.set_tenant(agency_a)
    inside = _sees(wrapper)  # the SET ran inside the transaction...
    wrapper.rollback()  # ...and PostgreSQL undid it with the transaction
    wrapper.set_autocommit(True)
    after = _sees(wrapper)
    wrapper.close()
    next_request = pooled()
    next_request.set_schema_to_public()
    public = _sees(next_request)

    assert inside["path"] == "agence_a,public"
    assert after["path"] == "agence_a,public"  # issued again, not assumed
    assert public["path"] == "public"
    assert public["pid"] == inside["pid"]


def _view(wrapper: DatabaseWrapper) -> Callable[[HttpRequest], HttpResponse]:
    def view(request: HttpRequest) -> HttpResponse:
        return JsonResponse(_sees(wrapper))

    return view


def test_requests_through_the_tenancy_middleware_on_a_pooled_connection(
    pooled, monkeypatch, agency_a, agency_b
):
    """Agency A, then B, then the public host, as AgencyMiddleware routes them, each request on
    its own wrapper and all on one physical connection: each sees its own schema only."""
    factory = RequestFactory()
    seen: dict[str, dict[str, Any]] = {}
    for host in (HOST_A, HOST_B, PUBLIC_HOST, HOST_A):
        wrapper = pooled()
        monkeypatch.setattr(tenancy, "tenant_connection", lambda w=wrapper: w)
        monkeypatch.setattr(agency_middleware, "tenant_connection", lambda w=wrapper: w)
        response = AgencyMiddleware(_view(wrapper))(factory.get("/", HTTP_HOST=host))
        wrapper.close()  # request_finished: back to the pool
        assert response.status_code == 200
        seen[host] = json.loads(response.content)

    assert len({cell["pid"] for cell in seen.values()}) == 1
    assert seen[HOST_A]["path"] == "agence_a,public"
    assert seen[HOST_B]["path"] == "agence_b,public"
    assert seen[HOST_B]["table"] == "applications_application"
    assert seen[PUBLIC_HOST]["path"] == "public"
    assert seen[PUBLIC_HOST]["table"] is None


def test_the_scenario_would_catch_a_wrapper_that_trusted_its_old_path(
    pooled, monkeypatch, agency_a, agency_b
):
    """The re-borrow scenario above is a real trap: a wrapper that kept believing its previous
    ``SET`` after giving its connection back would run agency A's request on agency B's path."""
    original_close = DatabaseWrapper.close

    def close_but_remember(self: DatabaseWrapper) -> None:
        remembered = self.search_path_set_schemas
        original_close(self)
        self.search_path_set_schemas = remembered

    monkeypatch.setattr(DatabaseWrapper, "close", close_but_remember)
    wrapper = pooled()
    wrapper.set_tenant(agency_a)
    _sees(wrapper)
    wrapper.close()
    other = pooled()
    other.set_tenant(agency_b)
    _sees(other)
    other.close()
    wrapper.search_path_set_schemas = ["agence_a", "public"]  # as if set_tenant trusted it

    leaked = _sees(wrapper)

    assert leaked["path"] == "agence_b,public"
