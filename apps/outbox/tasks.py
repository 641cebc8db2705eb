"""Celery entry points of the outbox: delivery of one message, the relay, the periodic fan-out.

``outbox_deliver`` runs in the schema of the agency that published it (tenant-schemas-celery
headers); it is ``acks_late`` with ``reject_on_worker_lost`` so a worker that dies mid-task
gives the message back, and safe to run twice (``outbox_process`` checks the row's status
under its lock). Retries use exponential backoff; the row counts the attempts and is
dead-lettered after ``OUTBOX_MAX_ATTEMPTS``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from celery import shared_task
from celery.exceptions import Retry
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.core.context import set_context, system_context
from apps.core.tenancy import current_schema
from apps.outbox.selectors import outbox_schemas
from apps.outbox.services import outbox_process, outbox_purge_sent, outbox_relay

logger = structlog.get_logger(__name__)


@shared_task(
    bind=True,
    name="outbox.deliver",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=None,
)
def outbox_deliver(self: Any, *, message_id: str) -> str:
    """Deliver one outbox message of the current schema; retried with backoff on failure."""
    set_context(system_context("outbox.deliver"))
    outcome = outbox_process(message_id=UUID(message_id))
    if outcome.retry_in is not None:
        try:
            raise self.retry(countdown=outcome.retry_in, kwargs={"message_id": message_id})
        except Retry:
            raise
        except Exception as exc:  # broker gone: the row's lease expires, the relay republishes
            logger.warning(
                "outbox_retry_not_published", schema=current_schema(), error=type(exc).__name__
            )
    return outcome.status


@shared_task(
    name="outbox.relay",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def outbox_relay_schema(*, schema_name: str, leased_before: str | None = None) -> int:
    """Publish the due messages of one schema (and those leased before ``leased_before``)."""
    set_context(system_context("outbox.relay"))
    if schema_name not in outbox_schemas():
        logger.warning("outbox_relay_unknown_schema", schema=schema_name)
        return 0
    with schema_context(schema_name):
        return outbox_relay(leased_before=_moment(leased_before))


@shared_task(name="outbox.relay_all", acks_late=True, ignore_result=True)
def outbox_relay_all(*, leased_before: str | None = None) -> list[str]:
    """Periodic, and from a worker that has (re)connected to the broker (``leased_before``,
    ISO 8601: ``apps.outbox.worker``): one relay per schema, each in its own task."""
    set_context(system_context("outbox.relay_all"))
    schemas = outbox_schemas()
    for schema in schemas:
        outbox_relay_schema.delay(schema_name=schema, leased_before=leased_before)
    return schemas


def _moment(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


@shared_task(name="outbox.purge", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def outbox_purge_schema(*, schema_name: str) -> int:
    """Delete the delivered messages of one schema past the retention (idempotent)."""
    set_context(system_context("outbox.purge"))
    if schema_name not in outbox_schemas():
        logger.warning("outbox_purge_unknown_schema", schema=schema_name)
        return 0
    with schema_context(schema_name):
        return outbox_purge_sent()


@shared_task(name="outbox.purge_all", acks_late=True, ignore_result=True)
def outbox_purge_all() -> list[str]:
    """Periodic: one purge per schema (public and every agency)."""
    set_context(system_context("outbox.purge_all"))
    schemas = outbox_schemas()
    for schema in schemas:
        outbox_purge_schema.delay(schema_name=schema)
    return schemas
