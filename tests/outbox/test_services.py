"""The outbox: enqueue in the caller's transaction, relay with leases, deliver exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.audit.models import AuditEvent
from apps.outbox.models import Kind, OutboxMessage, Status
from apps.outbox.services import (
    outbox_enqueue,
    outbox_process,
    outbox_relay,
    outbox_requeue,
    retry_delay,
)

pytestmark = pytest.mark.django_db


def _enqueue(schema: str = "agence_a", **kw):
    with schema_context(schema):
        return outbox_enqueue(kind=kw.pop("kind", Kind.DOCUMENT), payload={"n": 1}, **kw)


def test_enqueue_writes_a_pending_row_in_the_callers_schema(agency_a, agency_b):
    message = _enqueue()

    with schema_context("agence_a"):
        row = OutboxMessage.objects.get(pk=message.pk)
    assert row.status == Status.PENDING
    assert row.attempts == 0
    assert row.payload == {"n": 1}
    assert row.next_attempt_at <= timezone.now()
    with schema_context("agence_b"):
        assert not OutboxMessage.objects.filter(pk=message.pk).exists()
    assert not OutboxMessage.objects.filter(pk=message.pk).exists()  # public schema


def test_a_rolled_back_change_leaves_no_message(agency_a):
    with schema_context("agence_a"):

        def change() -> None:
            with transaction.atomic():
                outbox_enqueue(kind=Kind.NOTIFICATION, payload={})
                raise RuntimeError("the change failed")

        with pytest.raises(RuntimeError):
            change()
        assert OutboxMessage.objects.count() == 0


def test_unknown_kind_is_refused(agency_a):
    with pytest.raises(ValueError, match="unknown outbox kind"):
        _enqueue(kind="carrier-pigeon")


def test_dedupe_key_enqueues_once(agency_a):
    first = _enqueue(dedupe_key="job:1")
    second = _enqueue(dedupe_key="job:1")

    assert first is not None
    assert second is None
    with schema_context("agence_a"):
        assert OutboxMessage.objects.filter(dedupe_key="job:1").count() == 1


def test_after_commit_the_relay_is_kicked_for_the_new_row(
    agency_a, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = _enqueue()

    assert len(callbacks) == 1
    assert published.ids == [message.pk]
    with schema_context("agence_a"):
        row = OutboxMessage.objects.get(pk=message.pk)
    assert row.lease_until is not None
    assert row.lease_until > timezone.now()


def test_a_broker_outage_at_commit_only_delays_the_message(
    agency_a, published, django_capture_on_commit_callbacks
):
    published.fail_after = 0

    with django_capture_on_commit_callbacks(execute=True):
        message = _enqueue()  # no exception reaches the caller

    with schema_context("agence_a"):
        row = OutboxMessage.objects.get(pk=message.pk)
        assert row.status == Status.PENDING
        assert row.lease_until is None  # still due: the periodic relay publishes it
        published.fail_after = None
        assert outbox_relay() == 1
    assert published.ids == [message.pk]


def test_relay_publishes_due_rows_once_then_respects_the_lease(agency_a, published):
    due = _enqueue()
    later = _enqueue(not_before=timezone.now() + timedelta(hours=1))

    with schema_context("agence_a"):
        assert outbox_relay() == 1
        assert outbox_relay() == 0  # leased: not published again
    assert published.ids == [due.pk]
    assert later.pk not in published.ids


def test_relay_publishes_again_after_the_lease_expired(agency_a, published):
    message = _enqueue()
    with schema_context("agence_a"):
        outbox_relay()
        OutboxMessage.objects.filter(pk=message.pk).update(
            lease_until=timezone.now() - timedelta(seconds=1)
        )
        assert outbox_relay() == 1
    assert published.ids == [message.pk, message.pk]


def test_relay_stops_at_the_first_publish_failure(agency_a, published):
    messages = [_enqueue() for _ in range(3)]
    published.fail_after = 1

    with schema_context("agence_a"):
        assert outbox_relay() == 1
        leased = set(
            OutboxMessage.objects.filter(lease_until__isnull=False).values_list("pk", flat=True)
        )
    assert leased == {published.ids[0]}
    assert {m.pk for m in messages} >= leased


def test_relay_honours_its_batch_size(agency_a, published):
    for _ in range(3):
        _enqueue()
    with schema_context("agence_a"):
        assert outbox_relay(limit=2) == 2
        assert outbox_relay(limit=2) == 1


def test_process_delivers_once_and_never_again(agency_a, fake_handler_kind):
    message = _enqueue()

    with schema_context("agence_a"):
        first = outbox_process(message_id=message.pk)
        second = outbox_process(message_id=message.pk)
        row = OutboxMessage.objects.get(pk=message.pk)

    assert first.status == Status.SENT
    assert second.status == Status.SENT
    assert fake_handler_kind.calls == [message.pk]  # the second run did nothing
    assert row.status == Status.SENT
    assert row.attempts == 1
    assert row.sent_at is not None


def test_process_of_a_missing_row_does_nothing(agency_a, fake_handler_kind):
    message = _enqueue()
    with schema_context("agence_b"):
        assert outbox_process(message_id=message.pk).status == "missing"
    assert fake_handler_kind.calls == []


def test_an_early_duplicate_is_not_an_attempt(agency_a, fake_handler_kind):
    message = _enqueue(not_before=timezone.now() + timedelta(minutes=5))
    with schema_context("agence_a"):
        assert outbox_process(message_id=message.pk).status == "not_due"
    assert fake_handler_kind.calls == []


def test_a_failed_attempt_is_counted_and_retried_with_backoff(agency_a, fake_handler_kind):
    fake_handler_kind.failures = 1
    message = _enqueue()

    with schema_context("agence_a"):
        outcome = outbox_process(message_id=message.pk)
        row = OutboxMessage.objects.get(pk=message.pk)

    assert outcome.status == Status.PENDING
    assert outcome.retry_in is not None
    assert outcome.retry_in > 0
    assert row.attempts == 1
    assert "boom" in row.last_error
    assert row.next_attempt_at > timezone.now() - timedelta(seconds=1)
    assert row.lease_until is not None
    assert row.lease_until > row.next_attempt_at
    assert fake_handler_kind.on_failure_calls == 1

    with schema_context("agence_a"):
        OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        assert outbox_process(message_id=message.pk).status == Status.SENT
        row.refresh_from_db()
    assert row.attempts == 2
    assert row.last_error == ""


def test_messages_are_dead_lettered_after_the_maximum_attempts(
    agency_a, fake_handler_kind, settings
):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    fake_handler_kind.failures = 10
    message = _enqueue()

    with schema_context("agence_a"):
        outcomes = []
        for _ in range(4):
            OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
            outcomes.append(outbox_process(message_id=message.pk).status)
        row = OutboxMessage.objects.get(pk=message.pk)
        events = list(AuditEvent.objects.filter(action="outbox.dead_lettered"))

    assert outcomes == [Status.PENDING, Status.PENDING, Status.DEAD, Status.DEAD]
    assert len(fake_handler_kind.calls) == 3
    assert row.status == Status.DEAD
    assert row.dead_at is not None
    assert row.attempts == 3
    assert [e.target_id for e in events] == [str(message.pk)]
    assert events[0].outcome == "failure"


def test_a_permanent_failure_is_dead_lettered_at_once(agency_a, fake_handler_kind):
    fake_handler_kind.failures = 1
    fake_handler_kind.permanent = True
    message = _enqueue()

    with schema_context("agence_a"):
        assert outbox_process(message_id=message.pk).status == Status.DEAD
        assert OutboxMessage.objects.get(pk=message.pk).attempts == 1


def test_backoff_grows_exponentially_up_to_the_cap(settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 10
    settings.OUTBOX_RETRY_MAX_SECONDS = 100

    delays = [retry_delay(n) for n in range(1, 7)]

    assert 10 <= delays[0] <= 11
    assert 20 <= delays[1] <= 22
    assert 40 <= delays[2] <= 44
    assert all(100 <= d <= 110 for d in delays[4:])


def test_requeue_sends_dead_letters_back_and_audits_each(agency_a, fake_handler_kind, published):
    fake_handler_kind.failures = 1
    fake_handler_kind.permanent = True
    dead = _enqueue()
    alive = _enqueue()
    with schema_context("agence_a"):
        outbox_process(message_id=dead.pk)

        count = outbox_requeue(message_ids=[dead.pk, alive.pk])

        row = OutboxMessage.objects.get(pk=dead.pk)
        events = list(AuditEvent.objects.filter(action="outbox.requeued"))
        assert outbox_process(message_id=dead.pk).status == Status.SENT

    assert count == 1
    assert row.status == Status.PENDING
    assert row.attempts == 0
    assert row.dead_at is None
    assert [e.target_id for e in events] == [str(dead.pk)]


def test_a_failing_kick_never_reaches_the_caller(
    agency_a, monkeypatch, django_capture_on_commit_callbacks
):
    from apps.outbox import services

    def broken(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(services, "_relay", broken)
    with django_capture_on_commit_callbacks(execute=True):
        message = _enqueue()  # no exception

    with schema_context("agence_a"):
        assert OutboxMessage.objects.get(pk=message.pk).status == Status.PENDING


def test_messages_describe_themselves(agency_a):
    message = _enqueue()
    assert str(message) == f"document {message.pk} (pending)"


def test_relay_after_a_reconnection_takes_rows_leased_before_it_once(agency_a, published):
    message = _enqueue()
    with schema_context("agence_a"):
        assert outbox_relay() == 1  # leased: its copy may die with the broker
        reconnected_at = timezone.now()
        assert outbox_relay() == 0
        assert outbox_relay(leased_before=reconnected_at) == 1  # published again at once
        # A second worker reconnecting at the same moment finds it leased after that moment.
        assert outbox_relay(leased_before=reconnected_at) == 0
    assert published.ids == [message.pk, message.pk]


def test_relay_without_a_limit_publishes_the_whole_backlog(agency_a, published, settings):
    settings.OUTBOX_RELAY_BATCH = 2
    messages = [_enqueue() for _ in range(5)]
    with schema_context("agence_a"):
        assert outbox_relay() == 5  # three batches in one pass
    assert sorted(published.ids) == sorted(m.pk for m in messages)


def test_relay_without_a_limit_stops_at_a_publish_failure(agency_a, published, settings):
    settings.OUTBOX_RELAY_BATCH = 2
    for _ in range(5):
        _enqueue()
    published.fail_after = 3
    with schema_context("agence_a"):
        assert outbox_relay() == 3
