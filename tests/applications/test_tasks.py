"""Overdue flagging: the service, the per-agency task and the fan-out over agencies."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.applications import tasks
from apps.applications.models import Application
from apps.applications.services import applications_flag_overdue
from apps.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _make_late(application, days: int = 1) -> None:
    with schema_context("agence_a"):
        Application.objects.filter(pk=application.pk).update(
            due_at=timezone.now() - dt.timedelta(days=days)
        )


def test_open_applications_past_their_deadline_are_flagged_once(in_state, service_a):
    late = in_state("in_review")
    late_waiting = in_state("info_requested")
    decided = in_state("approved")
    on_time = in_state("submitted")
    for application in (late, late_waiting, decided):
        _make_late(application)

    with schema_context("agence_a"):
        first = applications_flag_overdue()
        second = applications_flag_overdue()
        flagged = set(
            Application.objects.filter(overdue_flagged_at__isnull=False).values_list(
                "id", flat=True
            )
        )
        events = AuditEvent.objects.filter(action="application.overdue_flagged")
        assert {e.target_id for e in events} == {str(late.id)}

    # A file waiting for its citizen has its clock stopped: never overdue (apps/applications/clock).
    assert (first, second) == (1, 0)
    assert flagged == {late.id}
    assert on_time.id not in flagged


def test_the_task_flags_the_agency_it_runs_in(in_state, service_a):
    late = in_state("submitted")
    _make_late(late)

    with schema_context("agence_b"):
        assert tasks.flag_overdue() == 0
    with schema_context("agence_a"):
        assert tasks.flag_overdue() == 1


def test_the_periodic_task_queues_one_task_per_active_agency_in_its_schema(
    agency_a, agency_b, monkeypatch
):
    queued: list[str] = []
    monkeypatch.setattr(tasks.flag_overdue, "delay", lambda: queued.append(connection.schema_name))
    from apps.agencies.models import Agency

    Agency.objects.filter(pk=agency_b.pk).update(is_active=False)

    count = tasks.flag_overdue_all_agencies()

    assert count == len(queued)
    assert "agence_a" in queued
    assert "agence_b" not in queued
    assert connection.schema_name == "public"


def test_the_beat_schedule_runs_the_fan_out(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["applications-flag-overdue"]

    assert entry["task"] == tasks.flag_overdue_all_agencies.name
