"""Working days of the current agency: weekends and its own public holidays are skipped.

Holidays live in each agency's schema, so the same call gives different answers on different
hosts: a holiday declared by agency A never moves agency B's deadlines. Dates are counted in
the local time zone (``TIME_ZONE``) and the time of day is kept, so an application submitted
on Friday at 10:00 with a one-day deadline is due on Monday at 10:00.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone

from apps.catalogue.models import PublicHoliday

SATURDAY = 5


def _local(moment: datetime) -> datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def _holidays(first: date, last: date) -> set[date]:
    """Holidays of the current schema between two dates, inclusive (one query)."""
    return set(
        PublicHoliday.objects.filter(date__gte=first, date__lte=last).values_list("date", flat=True)
    )


def is_working_day(day: date, holidays: set[date]) -> bool:
    """Monday to Friday and not a holiday."""
    return day.weekday() < SATURDAY and day not in holidays


def add_working_days(start: datetime, days: int, *, holidays: set[date] | None = None) -> datetime:
    """``start`` moved forward by ``days`` working days, at the same local time of day.

    Each counted day is a weekday that is not a public holiday of the current agency; the day of
    ``start`` itself is not counted. One query in practice (a second one only when holidays push
    the result beyond the first window); none when the caller passes the agency's ``holidays``
    (data migrations, batch recomputations).
    """
    if days < 0:
        raise ValueError("days must not be negative")
    if days == 0:
        return start
    local = _local(start)
    day = local.date()
    window = days * 2 + 14
    horizon = day + timedelta(days=window)
    known = holidays is not None
    if holidays is None:
        holidays = _holidays(day + timedelta(days=1), horizon)
    remaining = days
    while remaining:
        day += timedelta(days=1)
        if day > horizon and not known:
            holidays |= _holidays(day, horizon + timedelta(days=window))
            horizon += timedelta(days=window)
        if is_working_day(day, holidays):
            remaining -= 1
    return datetime.combine(day, local.timetz())


def working_days_between(
    start: datetime, end: datetime, *, holidays: set[date] | None = None
) -> int:
    """Working days after ``start``'s day up to and including ``end``'s day (negative if before).

    The inverse of ``add_working_days``: ``working_days_between(s, add_working_days(s, n)) == n``.
    """
    first, last = _local(start).date(), _local(end).date()
    if last < first:
        return -working_days_between(end, start, holidays=holidays)
    if last == first:
        return 0
    if holidays is None:
        holidays = _holidays(first + timedelta(days=1), last)
    count = 0
    day = first
    while day < last:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            count += 1
    return count
