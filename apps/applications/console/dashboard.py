"""Figures of the console's home page, per role, from indexed aggregate queries.

Agents: their open files, overdue and due within two working days (the service clock:
``apps.applications.clock``). Supervisors and agency admins: the agency's backlog by service
and status, overdue and due-soon counts, processing time (median and 90th percentile of the
applications decided over 30 days) and a 12-week trend of submissions and decisions. Each
figure is one aggregate query (``applications_assignee_idx``, ``applications_queue_idx``,
``applications_submitted_idx``, ``applications_decided_idx``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Aggregate, Count, DurationField, F, Q, QuerySet
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.translation import get_language

from apps.applications.clock import due_soon_q, overdue_q
from apps.applications.models import Application
from apps.applications.workflow import OPEN, Status

RECENT_DAYS = 30
TREND_WEEKS = 12
MY_FILES_SHOWN = 10


class PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


@dataclass
class Counts:
    """Open, overdue, due within two working days, waiting for the citizen, nobody holds."""

    open: int = 0
    overdue: int = 0
    due_soon: int = 0
    waiting: int = 0
    unassigned: int = 0


@dataclass
class ProcessingTime:
    """Submission to decision, over the applications decided in the last 30 days."""

    decided: int
    median_days: float | None
    p90_days: float | None


@dataclass
class Week:
    """Submissions and decisions of one week (starting on Monday)."""

    start: date
    submitted: int = 0
    decided: int = 0


@dataclass
class BacklogRow:
    """Open applications of one service, by status."""

    service: str
    by_status: dict[str, int] = field(default_factory=dict)
    total: int = 0


def _counts(queryset: QuerySet[Application], now: datetime) -> Counts:
    row = queryset.filter(status__in=sorted(OPEN)).aggregate(
        open=Count("pk"),
        overdue=Count("pk", filter=overdue_q(now)),
        due_soon=Count("pk", filter=due_soon_q(now)),
        waiting=Count("pk", filter=Q(status=Status.INFO_REQUESTED)),
        unassigned=Count("pk", filter=Q(assignee__isnull=True)),
    )
    return Counts(**{key: int(value or 0) for key, value in row.items()})


def agent_counts(*, user_id: UUID, now: datetime | None = None) -> Counts:
    """The agent's own open files (two queries: the holidays of "due soon", the counts)."""
    return _counts(Application.objects.filter(assignee_id=user_id), now or timezone.now())


def agency_counts(*, now: datetime | None = None) -> Counts:
    """Every open file of the agency."""
    return _counts(Application.objects.all(), now or timezone.now())


def my_next_files(*, user_id: UUID, limit: int = MY_FILES_SHOWN) -> list[Application]:
    """The agent's open files whose clock runs, soonest deadline first (then those waiting)."""
    return list(
        Application.objects.filter(assignee_id=user_id, status__in=sorted(OPEN))
        .select_related("service", "citizen")
        .order_by("due_at", "submitted_at")[:limit]
    )


def agency_backlog() -> tuple[list[str], list[BacklogRow]]:
    """Open applications by service and status (one GROUP BY query); statuses in workflow order."""
    english = (get_language() or "fr").startswith("en")
    name = "service__name_en" if english else "service__name_fr"
    rows = (
        Application.objects.filter(status__in=sorted(OPEN))
        .values(name, "status")
        .annotate(count=Count("pk"))
        .order_by(name, "status")
    )
    statuses = [value for value in Status.values if value in OPEN]
    table: dict[str, BacklogRow] = {}
    for row in rows:
        line = table.setdefault(row[name], BacklogRow(service=row[name]))
        line.by_status[row["status"]] = row["count"]
        line.total += row["count"]
    return statuses, list(table.values())


def processing_time(*, now: datetime | None = None, days: int = RECENT_DAYS) -> ProcessingTime:
    """Median and 90th percentile of submission → decision over the last ``days`` days."""
    moment = now or timezone.now()
    duration = F("decided_at") - F("submitted_at")
    row = Application.objects.filter(
        decided_at__gte=moment - timedelta(days=days), submitted_at__isnull=False
    ).aggregate(
        decided=Count("pk"),
        median=PercentileCont(duration, 0.5, output_field=DurationField()),
        p90=PercentileCont(duration, 0.9, output_field=DurationField()),
    )

    def in_days(value: timedelta | None) -> float | None:
        return None if value is None else round(value.total_seconds() / 86400, 1)

    return ProcessingTime(
        decided=int(row["decided"] or 0),
        median_days=in_days(row["median"]),
        p90_days=in_days(row["p90"]),
    )


def weekly_trend(*, now: datetime | None = None, weeks: int = TREND_WEEKS) -> list[Week]:
    """Submissions and decisions per week over the last ``weeks`` weeks (two queries)."""
    moment = timezone.localtime(now or timezone.now())
    this_monday = moment.date() - timedelta(days=moment.weekday())
    first = this_monday - timedelta(weeks=weeks - 1)
    start = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    series = {
        first + timedelta(weeks=i): Week(start=first + timedelta(weeks=i)) for i in range(weeks)
    }
    for column, attribute in (("submitted_at", "submitted"), ("decided_at", "decided")):
        rows = (
            Application.objects.filter(**{f"{column}__gte": start})
            .annotate(week=TruncWeek(column))
            .values("week")
            .annotate(count=Count("pk"))
        )
        for row in rows:
            week = row["week"]
            key = timezone.localtime(week) if isinstance(week, datetime) else week
            day = key.date() if isinstance(key, datetime) else key
            if day in series:
                setattr(series[day], attribute, row["count"])
    return list(series.values())
