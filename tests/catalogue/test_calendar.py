"""Working days skip weekends and the current agency's own public holidays."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import schema_context

from apps.catalogue.calendar import add_working_days, working_days_between
from apps.catalogue.models import PublicHoliday

pytestmark = pytest.mark.django_db

LOME = ZoneInfo("Africa/Lome")
FRIDAY = dt.datetime(2026, 4, 24, 10, 30, tzinfo=LOME)  # the Monday after is Independence Day


def at(day: int, month: int = 4, hour: int = 10, minute: int = 30) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=LOME)


def test_weekends_are_skipped_and_the_time_of_day_is_kept(agency_a):
    with schema_context(agency_a.schema_name):
        assert add_working_days(FRIDAY, 1) == at(27)
        assert add_working_days(FRIDAY, 5) == at(1, month=5)
        assert add_working_days(at(25), 1) == at(27)  # from a Saturday
        assert add_working_days(at(21), 2) == at(23)  # Tuesday to Thursday


def test_zero_days_is_the_start_and_negative_days_are_refused(agency_a):
    with schema_context(agency_a.schema_name):
        assert add_working_days(FRIDAY, 0) == FRIDAY
        with pytest.raises(ValueError, match="negative"):
            add_working_days(FRIDAY, -1)


def test_a_holiday_of_agency_a_does_not_move_agency_b_deadlines(agency_a, agency_b):
    with schema_context(agency_a.schema_name):
        PublicHoliday.objects.create(
            date=dt.date(2026, 4, 27), name_fr="Fête de l'indépendance", name_en="Independence Day"
        )
        due_in_a = add_working_days(FRIDAY, 1)
    with schema_context(agency_b.schema_name):
        due_in_b = add_working_days(FRIDAY, 1)

    assert due_in_a == at(28)
    assert due_in_b == at(27)


def test_a_utc_start_is_counted_in_local_days(agency_a, settings):
    settings.TIME_ZONE = "Europe/Paris"  # UTC+2 in April: 23:30 UTC on Friday is Saturday there
    start = dt.datetime(2026, 4, 24, 23, 30, tzinfo=dt.UTC)

    with schema_context(agency_a.schema_name):
        due = add_working_days(start, 1)

    assert due == dt.datetime(2026, 4, 27, 1, 30, tzinfo=ZoneInfo("Europe/Paris"))


def test_a_long_run_of_holidays_beyond_the_first_window_is_still_skipped(agency_a):
    with schema_context(agency_a.schema_name):
        PublicHoliday.objects.bulk_create(
            PublicHoliday(date=dt.date(2026, 7, 1) + dt.timedelta(days=i), name_fr="x", name_en="x")
            for i in range(40)
        )
        due = add_working_days(dt.datetime(2026, 6, 30, 9, tzinfo=LOME), 1)

    assert due == dt.datetime(2026, 8, 10, 9, tzinfo=LOME)  # 10 August 2026 is a Monday


def test_working_days_between_is_the_inverse(agency_a):
    with schema_context(agency_a.schema_name):
        PublicHoliday.objects.create(
            date=dt.date(2026, 5, 1), name_fr="Fête du travail", name_en="Labour Day"
        )
        for days in (0, 1, 3, 7, 15):
            assert working_days_between(FRIDAY, add_working_days(FRIDAY, days)) == days
        assert working_days_between(at(1, month=5), FRIDAY) == -4
        assert working_days_between(FRIDAY, FRIDAY + dt.timedelta(hours=3)) == 0
        assert working_days_between(FRIDAY, at(26)) == 0  # only the weekend
