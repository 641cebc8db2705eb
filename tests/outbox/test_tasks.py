"""Celery entry points of the outbox, and relays racing each other on committed rows."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import schema_context

from apps.outbox import tasks
from apps.outbox.models import Kind, OutboxMessage, Status
from apps.outbox.services import outbox_enqueue

pytestmark = pytest.mark.django_db


def test_delivery_tasks_ack_late_and_are_rejected_when_the_worker_dies():
    for task in (tasks.outbox_deliver, tasks.outbox_relay_schema):
        assert task.acks_late is True
        assert task.reject_on_worker_lost is True
    assert tasks.outbox_deliver.max_retries is None  # the row counts attempts, not Celery


def test_the_task_delivers_and_a_second_run_does_nothing(agency_a, fake_handler_kind):
    with schema_context("agence_a"):
        message = outbox_enqueue(kind=Kind.DOCUMENT, payload={})
        first = tasks.outbox_deliver.apply(kwargs={"message_id": str(message.pk)}).get()
        second = tasks.outbox_deliver.apply(kwargs={"message_id": str(message.pk)}).get()
    assert (first, second) == (Status.SENT, Status.SENT)
    assert fake_handler_kind.calls == [message.pk]


def test_the_task_retries_with_backoff_until_the_dead_letter(agency_a, fake_handler_kind, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 4
    fake_handler_kind.failures = 100
    with schema_context("agence_a"):
        message = outbox_enqueue(kind=Kind.DOCUMENT, payload={})
        # Eagerly, Celery runs each retry at once (the countdown is ignored).
        tasks.outbox_deliver.apply(kwargs={"message_id": str(message.pk)})
        row = OutboxMessage.objects.get(pk=message.pk)
    assert len(fake_handler_kind.calls) == 4
    assert row.status == Status.DEAD
    assert row.attempts == 4


def test_a_retry_that_cannot_be_published_is_left_to_the_relay(
    agency_a, fake_handler_kind, monkeypatch
):
    fake_handler_kind.failures = 1

    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.outbox_deliver, "retry", broker_down)
    with schema_context("agence_a"):
        message = outbox_enqueue(kind=Kind.DOCUMENT, payload={})
        outcome = tasks.outbox_deliver.apply(kwargs={"message_id": str(message.pk)}).get()
        row = OutboxMessage.objects.get(pk=message.pk)
    assert outcome == Status.PENDING
    assert row.lease_until is not None  # the relay republishes it once the lease expires


def test_the_periodic_relay_fans_out_to_public_and_every_agency(agency_a, agency_b, monkeypatch):
    queued: list[str] = []
    monkeypatch.setattr(
        tasks.outbox_relay_schema, "delay", lambda *, schema_name, **kw: queued.append(schema_name)
    )

    schemas = tasks.outbox_relay_all()

    assert schemas[0] == "public"
    assert {"agence_a", "agence_b"} <= set(schemas)
    assert queued == schemas


def test_the_schema_relay_publishes_that_schema_only(agency_a, agency_b, published):
    with schema_context("agence_a"):
        in_a = outbox_enqueue(kind=Kind.DOCUMENT, payload={})
    with schema_context("agence_b"):
        outbox_enqueue(kind=Kind.DOCUMENT, payload={})

    assert tasks.outbox_relay_schema(schema_name="agence_a") == 1
    assert tasks.outbox_relay_schema(schema_name="no_such_schema") == 0
    assert published.ids == [in_a.pk]


def test_delivered_messages_are_purged_after_the_retention(agency_a, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.OUTBOX_RETENTION_DAYS = 30
    old = timezone.now() - timedelta(days=31)
    with schema_context("agence_a"):
        sent_old = outbox_enqueue(kind=Kind.DOCUMENT, payload={})
        sent_new = outbox_enqueue(kind=Kind.DOCUMENT, payload={})
        dead_old = outbox_enqueue(kind=Kind.DOCUMENT, payload={})
        pending = outbox_enqueue(kind=Kind.DOCUMENT, payload={})
        OutboxMessage.objects.filter(pk=sent_old.pk).update(status=Status.SENT, sent_at=old)
        OutboxMessage.objects.filter(pk=sent_new.pk).update(
            status=Status.SENT, sent_at=timezone.now()
        )
        OutboxMessage.objects.filter(pk=dead_old.pk).update(status=Status.DEAD, dead_at=old)

    assert tasks.outbox_purge_schema(schema_name="agence_a") == 1
    assert tasks.outbox_purge_schema(schema_name="no_such_schema") == 0

    with schema_context("agence_a"):
        left = set(OutboxMessage.objects.values_list("pk", flat=True))
    assert left == {sent_new.pk, dead_old.pk, pending.pk}


def test_the_periodic_purge_fans_out_to_every_schema(agency_a, agency_b, monkeypatch):
    queued: list[str] = []
    monkeypatch.setattr(
        tasks.outbox_purge_schema, "delay", lambda *, schema_name, **kw: queued.append(schema_name)
    )
    schemas = tasks.outbox_purge_all()
    assert queued == schemas
    assert {"public", "agence_a", "agence_b"} <= set(schemas)
