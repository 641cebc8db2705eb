"""The request id travels from a request into every task it queued and into their log lines.

Real broker (CELERY_BROKER_URL, or the filesystem transport), real worker thread, as in
tests/core/test_celery.py; outbox deliveries keep the id of the request that wrote the row
even when a periodic relay, under another id, publishes them.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connections
from django_tenants.utils import schema_context

from apps.audit.models import AuditEvent
from apps.core.context import WorkContext, set_context, system_context
from apps.core.taskcontext import REQUEST_ID_HEADER, add_request_id, bind_task, unbind_task
from apps.core.tasks import schema_probe
from apps.outbox.models import Kind, OutboxMessage, Status
from apps.outbox.services import outbox_relay
from config.celery import app


def _close_worker_connections(**kwargs: Any) -> None:
    connections.close_all()


class Events(logging.Handler):
    """The structlog event dicts logged while it is attached to the root logger."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.events: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, dict):
            self.events.append(dict(record.msg))

    def named(self, *names: str) -> list[dict[str, Any]]:
        return [event for event in list(self.events) if event.get("event") in names]


@contextmanager
def running_worker() -> Iterator[Events]:
    """A worker thread, and the log events of this process while it runs.

    Celery's Django fix-up runs ``django.setup()`` as the worker starts, which applies
    ``LOGGING`` again (pytest's capture handlers go): the recorder is attached after that.
    """
    task_postrun.connect(_close_worker_connections, weak=False)
    root = logging.getLogger()
    recorder = Events()
    level = root.level
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            root.addHandler(recorder)
            root.setLevel(logging.INFO)
            yield recorder
    finally:
        root.removeHandler(recorder)
        root.setLevel(level)
        task_postrun.disconnect(_close_worker_connections)


def _wait_for(condition: Callable[[], Any], seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    return condition()


@pytest.mark.broker
def test_a_task_runs_and_logs_under_the_request_id_that_queued_it(
    agency_a: Any, django_db_blocker: Any
) -> None:
    request_id = f"req-{uuid.uuid4().hex}"
    marker = f"probe.{uuid.uuid4().hex}"
    with django_db_blocker.unblock():
        with running_worker() as log:
            set_context(WorkContext(request_id=request_id, actor_type="user", actor_id="u1"))
            with schema_context(agency_a.schema_name):
                schema_probe.delay(marker=marker)
            set_context(None)
            lines = _wait_for(lambda: log.named("schema_probe_ran"))
        assert lines, "the task never ran"
        assert lines[0]["request_id"] == request_id
        assert lines[0]["task"] == "core.schema_probe"
        assert lines[0]["task_id"]
        with schema_context(agency_a.schema_name):
            event = AuditEvent.objects.get(action="core.schema_probe", target_id=marker)
        assert event.request_id == request_id  # the task's audit event points at the request


@pytest.mark.broker
def test_an_outbox_delivery_keeps_the_request_id_of_the_row_whoever_relays_it(
    agency_a: Any, django_db_blocker: Any
) -> None:
    request_id = f"req-{uuid.uuid4().hex}"
    with django_db_blocker.unblock():
        with schema_context(agency_a.schema_name):
            # Written by a request (no kick: published below by the periodic relay's code).
            message = OutboxMessage.objects.create(
                kind=Kind.NOTIFICATION,
                payload={"recipient_id": str(uuid.uuid4()), "template": "x", "channel": "sms"},
                request_id=request_id,
            )
        try:
            with running_worker() as log:
                set_context(system_context("outbox.relay"))  # another request id
                with schema_context(agency_a.schema_name):
                    assert outbox_relay(message_ids=[message.pk]) == 1
                set_context(None)
                events = ("notification_skipped", "outbox_sent")
                lines = _wait_for(lambda: len(log.named(*events)) >= 2 and log.named(*events))
            assert {line["event"] for line in lines} == {"notification_skipped", "outbox_sent"}
            assert {line["request_id"] for line in lines} == {request_id}
            assert {line["task"] for line in lines} == {"outbox.deliver"}
            with schema_context(agency_a.schema_name):
                assert OutboxMessage.objects.get(pk=message.pk).status == Status.SENT
        finally:
            with schema_context(agency_a.schema_name):
                OutboxMessage.objects.filter(pk=message.pk).delete()


def test_enqueue_stores_the_request_id_of_the_current_request(db: None, agency_a: Any) -> None:
    from apps.outbox.services import outbox_enqueue

    set_context(WorkContext(request_id="req-0123456789"))
    with schema_context(agency_a.schema_name):
        message = outbox_enqueue(kind=Kind.WEBHOOK, payload={}, not_before=None)
    assert message is not None
    assert message.request_id == "req-0123456789"


def test_publish_headers_and_task_context_signals() -> None:
    set_context(WorkContext(request_id="req-abcdefgh"))
    headers: dict[str, Any] = {}
    add_request_id(headers=headers)
    assert headers == {REQUEST_ID_HEADER: "req-abcdefgh"}
    kept = {REQUEST_ID_HEADER: "req-from-row"}
    add_request_id(headers=kept)  # a publisher's own id (the outbox row's) is kept
    assert kept == {REQUEST_ID_HEADER: "req-from-row"}
    add_request_id(headers=None)  # nothing to stamp

    class Request:
        is_eager = False
        guichet_request_id = "req-incoming"

    class Task:
        name = "demo.task"
        request = Request()

    bind_task(task=Task(), task_id="t-1")
    assert system_context("demo.task").request_id == "req-incoming"
    unbind_task(task=Task())
    assert system_context("demo.task").request_id != "req-incoming"

    class EagerRequest(Request):
        is_eager = True

    class EagerTask(Task):
        request = EagerRequest()

    set_context(WorkContext(request_id="req-caller"))
    bind_task(task=EagerTask(), task_id="t-2")  # eager: runs inside its caller's context
    unbind_task(task=EagerTask())
    headers = {}
    add_request_id(headers=headers)
    assert headers == {REQUEST_ID_HEADER: "req-caller"}
    set_context(None)
