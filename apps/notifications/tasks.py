"""Celery entry points of notifications: the periodic deadline reminders, per agency."""

from __future__ import annotations

import structlog
from celery import shared_task
from django_tenants.utils import schema_context

from apps.agencies.selectors import agency_list
from apps.core.context import set_context, system_context
from apps.core.tenancy import current_schema
from apps.notifications.reminders import deadline_reminders_enqueue

logger = structlog.get_logger(__name__)


@shared_task(
    name="notifications.deadline_reminders",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def deadline_reminders() -> int:
    """Queue the deadline reminders of the agency this task was queued for (idempotent)."""
    set_context(system_context("notifications.deadline_reminders"))
    written = deadline_reminders_enqueue()
    logger.info("deadline_reminders_done", agency=current_schema(), written=written)
    return written


@shared_task(name="notifications.deadline_reminders_all", acks_late=True, ignore_result=True)
def deadline_reminders_all() -> list[str]:
    """Periodic: one ``deadline_reminders`` task per active agency, in its schema."""
    set_context(system_context("notifications.deadline_reminders_all"))
    schemas = list(agency_list(include_inactive=False).values_list("schema_name", flat=True))
    for schema in schemas:
        with schema_context(schema):
            deadline_reminders.delay()
    return schemas
