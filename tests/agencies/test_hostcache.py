"""The host -> agency cache saves a query per request and is never stale across processes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.agencies import hostcache
from apps.agencies.selectors import agency_for_host
from apps.hotkeys.registry import get_store
from tests.conftest import HOST_A
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


def test_second_lookup_costs_no_query(agency_a, django_assert_num_queries):
    with django_assert_num_queries(2):  # SET search_path + the domain lookup
        assert agency_for_host(HOST_A) == agency_a
    with django_assert_num_queries(0):
        assert agency_for_host(HOST_A) == agency_a


def test_unknown_hosts_are_cached_too(django_assert_num_queries):
    agency_for_host("nobody.localhost")

    with django_assert_num_queries(0):
        assert agency_for_host("nobody.localhost") is None


def test_a_change_in_another_process_invalidates_this_cache(agency_a):
    agency_for_host(HOST_A)

    # What another process's bump_generation does: only the shared counter moves.
    get_store().add(hostcache.GENERATION_KEY, 1)

    with CaptureQueriesContext(connection) as queries:
        assert agency_for_host(HOST_A) == agency_a
    assert any("agencies_domain" in q["sql"] for q in queries.captured_queries)


def test_entries_expire(agency_a, settings, django_assert_num_queries):
    settings.TENANT_CACHE_SECONDS = -1
    agency_for_host(HOST_A)

    with django_assert_num_queries(1):
        agency_for_host(HOST_A)


def test_deactivation_is_seen_by_the_next_request(api, agency_a):
    assert api(HOST_A).get("/healthz").status_code == 200  # now cached

    agency_a.is_active = False
    agency_a.save()

    assert_problem(api(HOST_A).get("/healthz"), 404, "agency_not_found")


def test_an_unreachable_store_bypasses_the_cache(agency_a, settings, django_assert_num_queries):
    from apps.hotkeys.registry import reset_stores

    settings.HOTKEYS = {
        "default": {
            "BACKEND": "apps.hotkeys.backends.fdb.FoundationDBStore",
            "OPTIONS": {"cluster_file": "/nonexistent/fdb.cluster"},
        }
    }
    reset_stores()
    try:
        agency_for_host(HOST_A)
        with django_assert_num_queries(1):
            assert agency_for_host(HOST_A) == agency_a
    finally:
        settings.HOTKEYS = settings.HOTKEYS  # restored by the fixture; drop the broken store
        reset_stores()
