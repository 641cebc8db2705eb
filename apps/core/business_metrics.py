"""Business gauges for ``/metrics``: the state of the work, per agency, read cheaply.

* ``guichet_applications_open`` / ``_overdue`` / ``_due_soon``: open applications (submitted,
  in review, information requested), those past their deadline, and those due within
  ``NOTIFICATIONS_DEADLINE_WARNING_DAYS`` working days of the agency's calendar;
* ``guichet_outbox_backlog`` and ``guichet_outbox_oldest_pending_seconds``: pending outbox
  messages and the age of the oldest one; ``guichet_outbox_dead_letters``;
* ``guichet_certificate_jobs_waiting``: pending document (certificate) jobs.

Everything is read with two queries whatever the number of agencies (one ``UNION ALL`` of the
holidays of every schema, one of the counts of every schema), then kept in Django's cache
(Redis when configured, so every process and machine shares one reading) for
``METRICS_BUSINESS_CACHE_SECONDS``. A scrape inside that window costs no query.
``benches/README.md`` has the measured cost.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from psycopg import sql

logger = structlog.get_logger(__name__)

CACHE_KEY = "metrics:business:v1"
SATURDAY = 5


@dataclass(frozen=True)
class AgencyFigures:
    """The gauges of one agency (``public`` holds only the platform's outbox)."""

    agency: str
    applications_open: int = 0
    applications_overdue: int = 0
    applications_due_soon: int = 0
    outbox_backlog: int = 0
    outbox_oldest_pending_seconds: float = 0.0
    outbox_dead_letters: int = 0
    certificate_jobs_waiting: int = 0


GAUGES: tuple[tuple[str, str, str], ...] = (
    ("applications_open", "guichet_applications_open", "Open applications"),
    ("applications_overdue", "guichet_applications_overdue", "Open applications past deadline"),
    (
        "applications_due_soon",
        "guichet_applications_due_soon",
        "Open applications due within the warning window (working days)",
    ),
    ("outbox_backlog", "guichet_outbox_backlog", "Pending outbox messages"),
    (
        "outbox_oldest_pending_seconds",
        "guichet_outbox_oldest_pending_seconds",
        "Age of the oldest pending outbox message",
    ),
    ("outbox_dead_letters", "guichet_outbox_dead_letters", "Dead-lettered outbox messages"),
    (
        "certificate_jobs_waiting",
        "guichet_certificate_jobs_waiting",
        "Pending certificate (document) jobs",
    ),
)


def _agencies() -> list[tuple[str, str]]:
    """``(slug, schema)`` of every active agency (public schema excluded)."""
    from apps.agencies.models import Agency

    public = get_public_schema_name()
    with schema_context(public):
        return list(
            Agency.objects.filter(is_active=True)
            .exclude(schema_name=public)
            .order_by("slug")
            .values_list("slug", "schema_name")
        )


def _horizon(start: datetime, days: int, holidays: set[date]) -> datetime:
    """``start`` plus ``days`` working days (weekends and ``holidays`` skipped), same time."""
    local = timezone.localtime(start)
    day = local.date()
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if day.weekday() < SATURDAY and day not in holidays:
            remaining -= 1
    return datetime.combine(day, local.timetz())


def _holidays(schemas: Iterable[str], first: date, last: date) -> dict[str, set[date]]:
    """Holidays of every schema between two dates, in one query."""
    names = list(schemas)
    result: dict[str, set[date]] = {name: set() for name in names}
    if not names:
        return result
    parts = [
        sql.SQL(
            "SELECT {label}, date FROM {schema}.catalogue_publicholiday "
            "WHERE date BETWEEN %(first)s AND %(last)s"
        ).format(label=sql.Literal(name), schema=sql.Identifier(name))
        for name in names
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL(" UNION ALL ").join(parts), {"first": first, "last": last})
        for name, day in cursor.fetchall():
            result[name].add(day)
    return result


_OUTBOX_COLUMNS = """
    (SELECT count(*) FROM {schema}.outbox_outboxmessage WHERE status = 'pending'),
    (SELECT coalesce(extract(epoch FROM %(now)s - min(created_at)), 0)
       FROM {schema}.outbox_outboxmessage WHERE status = 'pending'),
    (SELECT count(*) FROM {schema}.outbox_outboxmessage WHERE status = 'dead'),
    (SELECT count(*) FROM {schema}.outbox_outboxmessage
       WHERE status = 'pending' AND kind = 'document')
"""
# psycopg ``sql.SQL`` templates: schema names and labels are composed as Identifier/Literal.
_AGENCY_ROW = (
    "SELECT {label}, count(*),"  # noqa: S608
    # Overdue and due soon only while the service clock runs (apps.applications.clock).
    " count(*) FILTER (WHERE status = ANY(%(running)s) AND due_at < %(now)s),"
    " count(*) FILTER (WHERE status = ANY(%(running)s) AND due_at >= %(now)s"
    " AND due_at <= {horizon}),"
    + _OUTBOX_COLUMNS
    + " FROM {schema}.applications_application WHERE status = ANY(%(open)s)"
)
_PUBLIC_ROW = "SELECT {label}, 0, 0, 0," + _OUTBOX_COLUMNS


def business_figures_read(*, now: datetime | None = None) -> list[AgencyFigures]:
    """Read the gauges of the platform and of every active agency (two queries)."""
    from apps.applications.workflow import CLOCK_RUNNING, OPEN

    moment = now or timezone.now()
    agencies = _agencies()
    days = int(settings.NOTIFICATIONS_DEADLINE_WARNING_DAYS)
    today = timezone.localtime(moment).date()
    holidays = _holidays(
        (schema for _, schema in agencies), today, today + timedelta(days=days * 2 + 14)
    )
    public = get_public_schema_name()
    parts = [sql.SQL(_PUBLIC_ROW).format(label=sql.Literal(public), schema=sql.Identifier(public))]
    for slug, schema in agencies:
        horizon = _horizon(moment, days, holidays[schema])
        parts.append(
            sql.SQL(_AGENCY_ROW).format(
                label=sql.Literal(slug),
                schema=sql.Identifier(schema),
                horizon=sql.Literal(horizon),
            )
        )
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(" UNION ALL ").join(parts),
            {
                "now": moment,
                "open": sorted(str(s) for s in OPEN),
                "running": sorted(str(s) for s in CLOCK_RUNNING),
            },
        )
        rows = cursor.fetchall()
    return [
        AgencyFigures(
            agency=str(row[0]),
            applications_open=int(row[1]),
            applications_overdue=int(row[2]),
            applications_due_soon=int(row[3]),
            outbox_backlog=int(row[4]),
            outbox_oldest_pending_seconds=round(float(row[5]), 3),
            outbox_dead_letters=int(row[6]),
            certificate_jobs_waiting=int(row[7]),
        )
        for row in rows
    ]


def business_figures() -> list[AgencyFigures]:
    """The gauges, from the shared cache when a reading is fresh enough."""
    cached = cache.get(CACHE_KEY)
    if cached is not None:
        return [AgencyFigures(**row) for row in cached]
    started = time.perf_counter()
    figures = business_figures_read()
    logger.info(
        "business_metrics_read",
        agencies=len(figures),
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
    )
    cache.set(
        CACHE_KEY,
        [asdict(row) for row in figures],
        timeout=int(settings.METRICS_BUSINESS_CACHE_SECONDS),
    )
    return figures


class BusinessCollector(Collector):
    """Prometheus collector of the business gauges (labelled by agency slug)."""

    def collect(self) -> Iterator[Any]:
        try:
            with schema_context(get_public_schema_name()):
                figures = business_figures()
        except Exception as exc:  # a scrape must still return the other metrics
            logger.warning("business_metrics_failed", error=type(exc).__name__)
            return
        for field, name, documentation in GAUGES:
            family = GaugeMetricFamily(name, documentation, labels=["agency"])
            for row in figures:
                family.add_metric([row.agency], float(getattr(row, field)))
            yield family
