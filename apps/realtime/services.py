"""Writing real-time events: from a committed change, through the outbox, to the event log.

* ``realtime_application_event``: called in the transaction of an application's transition
  (``apps.notifications.dispatch``); writes one outbox message (kind ``realtime``) in the
  agency's schema, so the event exists if and only if the change commits. After the commit it
  is delivered at once in the same process (``realtime_deliver_now``) for latency; if that
  fails or the process dies, the outbox relay delivers it through Celery later (at least once).
* ``realtime_event_publish``: the outbox handler. Under a transaction-level advisory lock it
  inserts the event row (public schema) and asks the gateway processes to read the log
  (``apps.realtime.layers.wake``). The lock makes ids commit in increasing order; a repeated
  delivery of the same outbox message inserts nothing (``outbox_message_id`` is unique).
* ``realtime_events_purge``: rows older than ``REALTIME_RETENTION_HOURS``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.core.tenancy import current_schema, tenant_connection
from apps.outbox.services import outbox_enqueue, outbox_process
from apps.realtime.events import CITIZEN_SILENT, QUEUE_CHANGES
from apps.realtime.layers import wake
from apps.realtime.models import RealtimeEvent

logger = structlog.get_logger(__name__)

# pg_advisory_xact_lock key serialising event inserts (ids then commit in increasing order).
EVENT_LOG_LOCK = 0x6775696368657401  # "guichet" + 1


def realtime_application_event(
    *, application: Any, event: str, actor_id: UUID | None = None
) -> None:
    """Queue the real-time event of a transition (``event``: its audit action).

    Call inside the transition's transaction; ``application`` as saved by it.
    """
    change = QUEUE_CHANGES.get(event)
    if change is None:
        return
    agency = _agency_names()
    message = outbox_enqueue(
        kind="realtime",
        payload={
            "action": event,
            "change": change,
            "application_id": str(application.pk),
            "citizen_id": str(application.citizen_id),
            "assignee_id": str(application.assignee_id) if application.assignee_id else None,
            "actor_id": str(actor_id) if actor_id else None,
            "reference": application.reference or "",
            "status": application.status,
            "service_code": application.service.code,
            "service_name_fr": application.service.name_fr,
            "service_name_en": application.service.name_en,
            "agency_slug": agency.get("slug", ""),
            "agency_name_fr": agency.get("name_fr", ""),
            "agency_name_en": agency.get("name_en", ""),
            "occurred_at": (application.updated_at or timezone.now()).isoformat(),
            "to_citizen": event not in CITIZEN_SILENT,
        },
    )
    if message is not None and settings.REALTIME_DELIVER_ON_COMMIT:
        schema = current_schema()
        message_id = message.pk
        transaction.on_commit(lambda: realtime_deliver_now(schema=schema, message_id=message_id))


def _agency_names() -> dict[str, str]:
    """Slug and names of the current agency (the request's tenant, else one query)."""
    tenant = tenant_connection().tenant
    if getattr(tenant, "slug", None):
        return {"slug": tenant.slug, "name_fr": tenant.name_fr, "name_en": tenant.name_en}
    from apps.agencies.selectors import agency_list

    row = (
        agency_list()
        .filter(schema_name=current_schema())
        .values("slug", "name_fr", "name_en")
        .first()
    )
    return dict(row or {})


def realtime_deliver_now(*, schema: str, message_id: UUID) -> None:
    """After the commit: deliver the message here rather than wait for a worker.

    The outbox's own relay has queued it too; ``outbox_process`` makes sure it is delivered
    once (the second comer finds it sent). A failure is logged and left to the relay.
    """
    try:
        with schema_context(schema):
            outbox_process(message_id=message_id)
    except Exception:  # never turn a committed change into an error for the caller
        logger.exception("realtime_deliver_now_failed")


def realtime_event_publish(message: Any) -> None:
    """Outbox handler of kind ``realtime``: append the event to the log and wake the gateways.

    Runs in the agency's schema inside the delivery's transaction; the row goes to the public
    table (on the search path). Idempotent.
    """
    payload = message.payload
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [EVENT_LOG_LOCK])
    if RealtimeEvent.objects.filter(outbox_message_id=message.pk).exists():
        return
    occurred_at = payload.get("occurred_at")
    event = RealtimeEvent.objects.create(
        agency_schema=current_schema(),
        outbox_message_id=message.pk,
        action=payload["action"],
        change=payload["change"],
        application_id=payload["application_id"],
        citizen_id=payload["citizen_id"],
        assignee_id=payload.get("assignee_id"),
        actor_id=payload.get("actor_id"),
        reference=payload.get("reference", ""),
        status=payload["status"],
        service_code=payload.get("service_code", ""),
        service_name_fr=payload.get("service_name_fr", ""),
        service_name_en=payload.get("service_name_en", ""),
        agency_slug=payload.get("agency_slug", ""),
        agency_name_fr=payload.get("agency_name_fr", ""),
        agency_name_en=payload.get("agency_name_en", ""),
        to_citizen=bool(payload.get("to_citizen", True)),
        to_staff=True,
        occurred_at=occurred_at or timezone.now(),
    )
    wake(event.id)


def realtime_events_purge(*, now: Any = None) -> int:
    """Delete events older than ``REALTIME_RETENTION_HOURS``; return how many."""
    cutoff = (now or timezone.now()) - timedelta(hours=float(settings.REALTIME_RETENTION_HOURS))
    deleted, _ = RealtimeEvent.objects.filter(created_at__lt=cutoff).delete()
    if deleted:
        logger.info("realtime_events_purged", count=deleted)
    return deleted
