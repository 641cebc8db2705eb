"""Statistics of the agency's applications as CSV: counts by period, service and status.

One GROUP BY query streamed row by row; the period is the submission's month, week or day in
the agency's time zone. Only applications submitted (drafts are the citizen's own).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import get_language, override
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from apps.applications.models import Application
from apps.applications.workflow import Status
from apps.core.tenancy import current_schema

PERIODS = {"month": TruncMonth, "week": TruncWeek, "day": TruncDay}


class Echo:
    """A file-like object whose ``write`` returns the line (for a streamed CSV)."""

    def write(self, value: str) -> str:
        return value


def statistics_rows(*, first: date, last: date, period: str = "month") -> Iterator[dict[str, Any]]:
    """Counts of applications submitted from ``first`` to ``last`` (local dates, inclusive)."""
    trunc = PERIODS[period]
    start = timezone.make_aware(datetime.combine(first, time.min))
    end = timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min))
    rows = (
        Application.objects.filter(submitted_at__gte=start, submitted_at__lt=end)
        .annotate(period=trunc("submitted_at"))
        .values("period", "service__code", "service__name_fr", "service__name_en", "status")
        .annotate(count=Count("pk"))
        .order_by("period", "service__code", "status")
    )
    for row in rows.iterator(chunk_size=500):
        yield dict(row)


def statistics_csv(*, first: date, last: date, period: str = "month") -> Iterator[str]:
    """The CSV lines (header first), in the current language, from the current agency.

    The schema and language are fixed now: a streamed response is consumed after the view
    returned (and after the middleware reset the connection to the public schema).
    """
    return _lines(
        schema=current_schema(), english=_english(), first=first, last=last, period=period
    )


def _english() -> bool:
    return (get_language() or "fr").startswith("en")


def _lines(*, schema: str, english: bool, first: date, last: date, period: str) -> Iterator[str]:
    with schema_context(schema), override("en" if english else "fr"):
        yield from _rows_as_csv(english=english, first=first, last=last, period=period)


def _rows_as_csv(*, english: bool, first: date, last: date, period: str) -> Iterator[str]:
    writer = csv.writer(Echo())
    yield "\ufeff"  # spreadsheets open UTF-8 with accents correctly
    yield writer.writerow(
        [_("period"), _("service code"), _("service"), _("status code"), _("status"), _("count")]
    )
    for row in statistics_rows(first=first, last=last, period=period):
        moment = row["period"]
        day = timezone.localtime(moment).date() if isinstance(moment, datetime) else moment
        name = row["service__name_en"] if english else row["service__name_fr"]
        yield writer.writerow(
            [
                day.isoformat(),
                row["service__code"],
                name,
                row["status"],
                Status(row["status"]).label,
                row["count"],
            ]
        )
