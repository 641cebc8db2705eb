"""Agents hear once about applications whose deadline is near (periodic task, per agency)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.applications.models import Application
from apps.notifications import tasks
from apps.notifications.reminders import deadline_reminders_enqueue
from apps.outbox.models import OutboxMessage
from tests.outbox.builders import in_state, submitted

pytestmark = pytest.mark.django_db


def _due_in(application, delta: timedelta) -> None:
    with schema_context("agence_a"):
        Application.objects.filter(pk=application.pk).update(due_at=timezone.now() + delta)


def _reminders(schema: str = "agence_a") -> list[tuple[str, str]]:
    with schema_context(schema):
        return sorted(
            (row.payload["recipient_id"], row.payload["channel"])
            for row in OutboxMessage.objects.filter(payload__template="deadline_approaching")
        )


def test_the_assignee_is_reminded_once(agency_a, citizen, staff_of, settings):
    settings.NOTIFICATIONS_DEADLINE_WARNING_DAYS = 2
    agent = staff_of(agency_a, Role.AGENT)
    application = in_state("agence_a", citizen, agent, "in_review")
    _due_in(application, timedelta(hours=20))

    with schema_context("agence_a"):
        first = deadline_reminders_enqueue()
        second = deadline_reminders_enqueue()

    assert first == 1  # the agent has an e-mail address only
    assert second == 0
    assert _reminders() == [(str(agent.pk), "email")]
    with schema_context("agence_b"):
        assert not OutboxMessage.objects.exists()


def test_a_new_deadline_gets_its_own_reminder(agency_a, citizen, staff_of):
    agent = staff_of(agency_a, Role.AGENT)
    application = in_state("agence_a", citizen, agent, "in_review")
    _due_in(application, timedelta(hours=20))
    with schema_context("agence_a"):
        deadline_reminders_enqueue()
    _due_in(application, timedelta(hours=30))
    with schema_context("agence_a"):
        assert deadline_reminders_enqueue() == 1


def test_far_passed_and_decided_deadlines_are_ignored(agency_a, citizen, staff_of):
    agent = staff_of(agency_a, Role.AGENT)
    far = in_state("agence_a", citizen, agent, "in_review")
    _due_in(far, timedelta(days=30))
    overdue = in_state("agence_a", citizen, agent, "in_review")
    _due_in(overdue, -timedelta(hours=1))
    decided = in_state("agence_a", citizen, agent, "approved")
    _due_in(decided, timedelta(hours=5))

    with schema_context("agence_a"):
        assert deadline_reminders_enqueue() == 0


def test_unassigned_applications_go_to_supervisors_and_admins(
    agency_a, agency_b, citizen, staff_of
):
    supervisor = staff_of(agency_a, Role.SUPERVISOR)
    admin = staff_of(agency_a, Role.AGENCY_ADMIN)
    staff_of(agency_a, Role.AGENT)
    staff_of(agency_b, Role.SUPERVISOR)  # another agency's supervisor: never told
    application = submitted("agence_a", citizen)
    _due_in(application, timedelta(hours=10))

    with schema_context("agence_a"):
        deadline_reminders_enqueue()

    assert _reminders() == sorted([(str(supervisor.pk), "email"), (str(admin.pk), "email")])


def test_the_periodic_task_fans_out_to_every_active_agency(agency_a, agency_b, monkeypatch):
    queued: list[str] = []

    def fake_delay() -> None:
        from apps.core.tenancy import current_schema

        queued.append(current_schema())

    monkeypatch.setattr(tasks.deadline_reminders, "delay", fake_delay)

    schemas = tasks.deadline_reminders_all()

    assert {"agence_a", "agence_b"} <= set(schemas)
    assert queued == schemas


def test_the_agency_task_runs_the_reminders_of_its_schema(agency_a, citizen, staff_of):
    agent = staff_of(agency_a, Role.AGENT)
    application = in_state("agence_a", citizen, agent, "in_review")
    _due_in(application, timedelta(hours=20))

    with schema_context("agence_a"):
        assert tasks.deadline_reminders() == 1
