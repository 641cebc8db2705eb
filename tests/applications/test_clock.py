"""The service clock: stopped while the citizen is asked for information, resumed on the answer."""

from __future__ import annotations

import datetime as dt
import importlib
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as django_apps
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.applications import clock, selectors
from apps.applications.models import Application
from apps.applications.services.overdue import applications_flag_overdue
from apps.audit.selectors import audit_event_list
from apps.catalogue.models import PublicHoliday
from apps.notifications.reminders import deadline_reminders_enqueue
from apps.outbox.models import OutboxMessage
from tests.applications.conftest import VALID_FORM, advance

pytestmark = pytest.mark.django_db

LOME = ZoneInfo("Africa/Lome")


def at(day: int, hour: int, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=LOME)


def test_a_pause_counts_whole_working_days_and_skips_weekends_and_holidays():
    # Paused Monday 2 March 10:00, answered Thursday 5 March 09:00; Tuesday is a holiday:
    # Wednesday and Thursday count (2 days); Friday 6 15:00 + 2 working days = Tuesday 10 15:00.
    holidays = {dt.date(2026, 3, 3)}

    result = clock.resumed(
        due_at=at(6, 15), paused_at=at(2, 10), resumed_at=at(5, 9), holidays=holidays
    )

    assert result.paused_working_days == 2
    assert result.due_at == at(10, 15)


def test_a_pause_within_one_day_or_over_a_weekend_moves_nothing():
    same_day = clock.resumed(
        due_at=at(6, 15), paused_at=at(2, 8), resumed_at=at(2, 17), holidays=set()
    )
    weekend = clock.resumed(
        due_at=at(13, 15), paused_at=at(6, 16), resumed_at=at(8, 12), holidays=set()
    )

    assert (same_day.paused_working_days, same_day.due_at) == (0, at(6, 15))
    assert (weekend.paused_working_days, weekend.due_at) == (0, at(13, 15))


def test_holidays_come_from_the_current_agency_only(agency_a, agency_b):
    with schema_context("agence_b"):
        PublicHoliday.objects.create(date=dt.date(2026, 3, 4), name_fr="Fête B", name_en="B day")

    with schema_context("agence_a"):
        in_a = clock.paused_days(at(2, 10), at(5, 9))
    with schema_context("agence_b"):
        in_b = clock.paused_days(at(2, 10), at(5, 9))

    assert (in_a, in_b) == (3, 2)


def _backdate_pause(application: Application, *, working_days: int) -> dt.datetime:
    """Move the pause back so that ``working_days`` working days have passed since it."""
    now = timezone.now()
    paused_at = now
    while clock.paused_days(paused_at, now) < working_days:
        paused_at -= dt.timedelta(days=1)
    Application.objects.filter(pk=application.pk).update(clock_paused_at=paused_at)
    return paused_at


def test_request_info_stops_the_clock_and_the_answer_resumes_it(
    in_state, citizen, staff_of, agency_a, service_a
):
    agent = staff_of(agency_a, Role.AGENT)
    application = in_state("in_review", agent=agent)
    with schema_context("agence_a"):
        first_due = Application.objects.get(pk=application.pk).due_at

    advance("agence_a", application, "request_info", agent, Role.AGENT, reason="Photo floue")
    with schema_context("agence_a"):
        paused = Application.objects.get(pk=application.pk)
        assert paused.clock_paused_at is not None
        assert paused.due_at == first_due  # stopped, not moved yet
        _backdate_pause(paused, working_days=3)

    answered = advance(
        "agence_a", application, "answer_info", citizen, "citizen", form_data=VALID_FORM
    )

    with schema_context("agence_a"):
        stored = Application.objects.get(pk=answered.pk)
        assert stored.clock_paused_at is None
        assert stored.paused_working_days == 3
        assert stored.due_at == clock.add_working_days(first_due, 3)
        event = audit_event_list().filter(action="application.info_answered").first()
        assert event is not None
        assert set(event.changes) >= {"due_at", "clock_paused_at", "paused_working_days"}


def test_a_file_waiting_for_its_citizen_is_never_overdue_due_soon_or_reminded(
    in_state, service_a, staff_of, agency_a
):
    staff_of(agency_a, Role.SUPERVISOR)  # reminded of the files nobody holds
    waiting = in_state("info_requested")
    waiting_soon = in_state("info_requested")
    late = in_state("in_review")
    soon = in_state("submitted")
    now = timezone.now()
    with schema_context("agence_a"):
        Application.objects.filter(pk__in=[waiting.pk, late.pk]).update(
            due_at=now - dt.timedelta(days=3)
        )
        Application.objects.filter(pk__in=[soon.pk, waiting_soon.pk]).update(
            due_at=clock.add_working_days(now, 1)
        )
        overdue = set(
            Application.objects.filter(selectors.overdue_q()).values_list("pk", flat=True)
        )
        due_soon = set(Application.objects.filter(clock.due_soon_q()).values_list("pk", flat=True))
        flagged = applications_flag_overdue()
        deadline_reminders_enqueue()
        reminded = {
            message.payload["application_id"]
            for message in OutboxMessage.objects.filter(payload__template="deadline_approaching")
        }
        assert Application.objects.get(pk=waiting.pk).is_overdue is False
        assert Application.objects.get(pk=waiting.pk).overdue_flagged_at is None

    assert overdue == {late.pk}
    assert due_soon == {soon.pk}
    assert flagged == 1
    assert reminded == {str(soon.pk)}


def test_the_database_refuses_a_clock_stopped_outside_information_requested(in_state, service_a):
    application = in_state("in_review")

    with schema_context("agence_a"), pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=application.pk).update(clock_paused_at=timezone.now())


def test_a_withdrawal_while_waiting_stops_the_clock_for_good(in_state, citizen, service_a):
    application = in_state("info_requested")

    withdrawn = advance("agence_a", application, "withdraw", citizen, "citizen")

    with schema_context("agence_a"):
        stored = Application.objects.get(pk=withdrawn.pk)
        assert stored.clock_paused_at is None
        assert stored.paused_working_days == 0


def test_the_data_migration_recomputes_existing_applications(
    in_state, citizen, staff_of, agency_a, service_a
):
    migration = importlib.import_module("apps.applications.migrations.0003_service_clock")
    agent = staff_of(agency_a, Role.AGENT)
    answered = in_state("in_review", agent=agent)
    advance("agence_a", answered, "request_info", agent, Role.AGENT, reason="Photo floue")
    advance("agence_a", answered, "answer_info", citizen, "citizen", form_data=VALID_FORM)
    waiting = in_state("info_requested")
    with schema_context("agence_a"):
        history = Application.objects.get(pk=answered.pk).history
        request = history.get(action="request_info")
        answer = history.get(action="answer_info")
        # Before the clock existed: a four-working-day pause left the deadline where it was.
        while clock.paused_days(request.occurred_at, answer.occurred_at) < 4:
            answer.occurred_at += dt.timedelta(days=1)
        answer.save(update_fields=["occurred_at"])
        original_due = timezone.now() - dt.timedelta(days=1)
        Application.objects.filter(pk=answered.pk).update(
            due_at=original_due, paused_working_days=0, overdue_flagged_at=timezone.now()
        )
        asked_at = Application.objects.get(pk=waiting.pk).history.get(action="request_info")
        Application.objects.filter(pk=waiting.pk).update(
            clock_paused_at=timezone.now(), overdue_flagged_at=timezone.now()
        )

        migration.recompute(django_apps, None)

        moved = Application.objects.get(pk=answered.pk)
        still = Application.objects.get(pk=waiting.pk)
        expected_due = clock.add_working_days(original_due, 4)
    assert moved.paused_working_days == 4
    assert moved.due_at == expected_due
    assert moved.overdue_flagged_at is None  # on time again after the move
    assert still.clock_paused_at == asked_at.occurred_at
    assert still.overdue_flagged_at is None
