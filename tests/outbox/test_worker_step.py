"""The consumer step that asks for an outbox relay each time a worker has (re)connected."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.utils import timezone

from apps.outbox import tasks
from apps.outbox.worker import OutboxRelayOnConnect
from config.celery import Consumer, app


def test_the_step_is_part_of_every_worker_consumer():
    assert OutboxRelayOnConnect in app.steps["consumer"]
    assert app.conf.worker_consumer == "config.celery:Consumer"
    assert app.conf.broker_connection_max_retries is None
    assert app.conf.broker_connection_retry_on_startup is True


def test_each_connection_queues_a_relay_of_rows_leased_before_it(monkeypatch):
    sent: list[dict] = []
    monkeypatch.setattr(
        tasks.outbox_relay_all, "apply_async", lambda kwargs, retry: sent.append(kwargs)
    )
    before = timezone.now()

    OutboxRelayOnConnect.start(object.__new__(OutboxRelayOnConnect), object())

    assert len(sent) == 1
    moment = datetime.fromisoformat(sent[0]["leased_before"])
    assert before <= moment <= timezone.now()


def test_a_broker_gone_again_does_not_stop_the_consumer(monkeypatch):
    def refuse(**kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.outbox_relay_all, "apply_async", refuse)

    OutboxRelayOnConnect.start(object.__new__(OutboxRelayOnConnect), object())  # no exception


@pytest.mark.django_db
def test_the_relay_task_passes_the_moment_on_to_each_schema(agency_a, monkeypatch):
    queued: list[tuple[str, str | None]] = []
    monkeypatch.setattr(
        tasks.outbox_relay_schema,
        "delay",
        lambda *, schema_name, leased_before: queued.append((schema_name, leased_before)),
    )
    moment = timezone.now().isoformat()

    tasks.outbox_relay_all(leased_before=moment)

    assert ("agence_a", moment) in queued


@pytest.mark.parametrize("value", ["2026-01-02T03:04:05+00:00", "2026-01-02T03:04:05"])
def test_relay_moments_are_read_as_aware_datetimes(value):
    moment = tasks._moment(value)
    assert moment is not None
    assert timezone.is_aware(moment)
    assert tasks._moment(None) is None


def test_the_consumer_reconnects_at_a_bounded_interval(settings):
    settings.CELERY_BROKER_RETRY_MAX_SECONDS = 3.0
    seen: dict = {}

    class FakeConnection:
        def ensure_connection(self, *args, **kwargs):
            seen.update(kwargs)
            return self

    consumer = object.__new__(Consumer)
    consumer.app = app
    consumer.first_connection_attempt = False
    consumer.broker_connection_retry_attempt = 0
    Consumer.ensure_connected(consumer, FakeConnection())

    assert seen["interval_max"] == 3.0
    assert seen["interval_start"] == 1.0
