"""/metrics: requests by route template, method, status and agency; business gauges per agency.

The gauges are read in two queries whatever the number of agencies and shared through the
cache; a scrape inside the cache window costs no query.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context
from prometheus_client.parser import text_string_to_metric_families

from apps.applications.models import Application
from apps.catalogue.models import PublicHoliday
from apps.core import business_metrics, metrics
from apps.core.business_metrics import CACHE_KEY, business_figures_read
from apps.outbox.models import Kind, OutboxMessage, Status
from tests.conftest import HOST_A

pytestmark = pytest.mark.django_db

LOME = ZoneInfo("Africa/Lome")
# A Wednesday at 10:00 in Lomé: two working days ahead is Friday 10:00.
NOW = datetime(2031, 1, 8, 10, 0, tzinfo=LOME)


def samples(content: bytes, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found = {}
    for family in text_string_to_metric_families(content.decode()):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def scrape() -> bytes:
    """What /metrics answers (read through ``render``: the view's own access rule aside)."""
    return metrics.render()[0]


def figures_of(slug: str, **kwargs: Any) -> business_metrics.AgencyFigures:
    with schema_context("public"):
        rows = {row.agency: row for row in business_figures_read(**kwargs)}
    return rows[slug]


def test_requests_are_counted_by_route_template_not_raw_path(api):
    client = api(HOST_A)
    for _ in range(2):
        client.get("/api/v1/services/")
    client.get(f"/api/v1/applications/{'1' * 8}-1111-1111-1111-{'1' * 12}/")
    client.get(f"/api/v1/applications/{'2' * 8}-2222-2222-2222-{'2' * 12}/")
    client.get("/no/such/page/8f1c2")
    api("unknown.example").get("/healthz")

    counts = samples(scrape(), "guichet_http_requests_total")

    services = (("agency", "agence-a"), ("method", "GET"), ("route", "api/v1/services/"))
    assert counts[(*services, ("status", "200"))] >= 2
    detail = [key for key in counts if ("route", "api/v1/applications/{pk}/") in key]
    assert detail, sorted(counts)
    assert all(dict(key)["agency"] == "agence-a" for key in detail)
    assert any(dict(key)["route"] == "unmatched" for key in counts)
    routes = {dict(key)["route"] for key in counts}
    assert not any("2222" in route or "8f1c2" in route for route in routes)  # no raw paths
    agencies = {dict(key)["agency"] for key in counts}
    assert "none" in agencies  # the unknown host
    assert not any("." in agency for agency in agencies)  # slugs, never a raw host name


def test_the_business_gauges_count_open_overdue_and_due_soon_per_agency(service_a, in_state):
    before = figures_of("agence-a", now=NOW)
    overdue = in_state("submitted")
    due_soon = in_state("in_review")
    later = in_state("info_requested")
    after_holiday = in_state("submitted")
    decided = in_state("approved")
    with schema_context("agence_a"):
        for application, due_at in (
            (overdue, NOW - timedelta(days=1)),
            (due_soon, NOW + timedelta(days=1)),
            (later, NOW + timedelta(days=30)),
            (after_holiday, NOW + timedelta(days=2, hours=1)),  # Friday 11:00
            (decided, NOW - timedelta(days=3)),  # decided: neither open nor overdue
        ):
            Application.objects.filter(pk=application.pk).update(due_at=due_at)

    plain = figures_of("agence-a", now=NOW)
    with schema_context("agence_a"):
        PublicHoliday.objects.create(date=NOW.date() + timedelta(days=1), name_fr="F", name_en="H")
    with_holiday = figures_of("agence-a", now=NOW)

    assert plain.applications_open - before.applications_open == 4
    assert plain.applications_overdue - before.applications_overdue == 1
    assert plain.applications_due_soon - before.applications_due_soon == 1
    # Thursday off: the window reaches Monday 10:00, so Friday 11:00 is due soon too.
    assert with_holiday.applications_due_soon - before.applications_due_soon == 2
    assert figures_of("agence-b", now=NOW).applications_open == 0


def test_the_outbox_gauges(agency_a):
    before = figures_of("agence-a")
    with schema_context("agence_a"):
        OutboxMessage.objects.create(
            kind=Kind.DOCUMENT, payload={}, created_at=timezone.now() - timedelta(minutes=10)
        )
        OutboxMessage.objects.create(kind=Kind.NOTIFICATION, payload={})
        OutboxMessage.objects.create(
            kind=Kind.WEBHOOK, payload={}, status=Status.DEAD, dead_at=timezone.now()
        )

    after = figures_of("agence-a")

    assert after.outbox_backlog - before.outbox_backlog == 2
    assert after.certificate_jobs_waiting - before.certificate_jobs_waiting == 1
    assert after.outbox_dead_letters - before.outbox_dead_letters == 1
    assert after.outbox_oldest_pending_seconds >= 600


def test_the_gauges_are_read_in_two_queries_and_then_served_from_the_cache(agency_a):
    cache.delete(CACHE_KEY)
    with CaptureQueriesContext(connection) as first:
        body = scrape()
    gauge_queries = [q for q in first.captured_queries if "UNION ALL" in q["sql"]]
    assert len(gauge_queries) == 2  # holidays, then the counts: whatever the agency count
    assert samples(body, "guichet_applications_open")[(("agency", "agence-a"),)] >= 0
    assert (("agency", "public"),) in samples(body, "guichet_outbox_backlog")

    with CaptureQueriesContext(connection) as second:
        scrape()

    assert not [q for q in second.captured_queries if "UNION ALL" in q["sql"]]


def test_a_failing_read_leaves_the_other_metrics(monkeypatch):
    cache.delete(CACHE_KEY)

    def broken(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(business_metrics, "business_figures_read", broken)
    body = scrape()

    assert b"guichet_http_requests_total" in body
    assert b"guichet_applications_open" not in body
