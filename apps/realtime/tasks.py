"""Celery entry points of the gateway: the purge of the event log."""

from __future__ import annotations

from celery import shared_task

from apps.core.context import set_context, system_context
from apps.realtime.services import realtime_events_purge


@shared_task(name="realtime.purge", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def realtime_purge() -> int:
    """Periodic: delete events older than ``REALTIME_RETENTION_HOURS`` (idempotent)."""
    set_context(system_context("realtime.purge"))
    return realtime_events_purge()
