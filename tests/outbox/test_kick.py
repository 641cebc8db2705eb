"""The after-commit kick: one relay per transaction, over a pooled broker connection that
fails fast when the broker is down, hung, or was restarted while the connection sat idle.

No test transaction here: the kick runs when the outermost transaction really commits, so
the rows are committed and each test deletes its own. The broker is CELERY_BROKER_URL: Celery's
filesystem transport under `make test` without variables, Redis in the second step of .ci/run.
Outages are a dead port, a listener that never answers, and a loopback proxy that drops its
connections. The proxy forwards to the real broker, so that test needs Redis (marker ``redis``).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from apps.outbox import broker, tasks
from apps.outbox.models import Kind, OutboxMessage, Status
from apps.outbox.services import outbox_enqueue, outbox_process, outbox_relay, outbox_requeue

DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1
BROKER_URL = django_settings.CELERY_BROKER_URL  # the real one, whatever a test sets


@pytest.fixture
def committed(agency_a: Any, django_db_blocker: Any) -> Iterator[list[UUID]]:
    """Database access outside a test transaction; the ids appended are deleted at the end."""
    ids: list[UUID] = []
    with django_db_blocker.unblock():
        try:
            yield ids
        finally:
            with schema_context("agence_a"):
                OutboxMessage.objects.filter(pk__in=ids).delete()


def _enqueue(ids: list[UUID], count: int = 1) -> list[UUID]:
    new = []
    for n in range(count):
        message = outbox_enqueue(kind=Kind.DOCUMENT, payload={"n": n})
        assert message is not None
        new.append(message.pk)
    ids.extend(new)
    return new


def _rows(ids: list[UUID]) -> list[OutboxMessage]:
    with schema_context("agence_a"):
        return list(OutboxMessage.objects.filter(pk__in=ids))


def _claims(queries: CaptureQueriesContext) -> int:
    return sum("SKIP LOCKED" in query["sql"] for query in queries.captured_queries)


def _queued() -> Iterator[tuple[bytes, Callable[[], None]]]:
    """Every raw message of the test queue in the real broker, with a function removing it.

    Reads the broker's storage directly (a Redis list, or the filesystem transport's files) so
    that nothing else in the queue is consumed or reordered.
    """
    queue = django_settings.CELERY_TASK_DEFAULT_QUEUE
    if BROKER_URL.startswith("filesystem"):
        folder = Path(django_settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_out"])
        for path in sorted(folder.glob(f"*.{queue}.msg")):
            with suppress(FileNotFoundError):  # taken meanwhile by someone else
                yield path.read_bytes(), path.unlink
        return
    from config.celery import app

    with app.connection_for_write(BROKER_URL) as conn:
        client = conn.default_channel.client
        for raw in client.lrange(queue, 0, -1):
            yield raw, lambda raw=raw: client.lrem(queue, 1, raw)


def _take_from_queue(ids: list[UUID]) -> list[str]:
    """The ``outbox.deliver`` messages for ``ids`` in the real broker's queue (removed)."""
    found = []
    for raw, remove in _queued():
        headers = json.loads(raw)["headers"]
        if headers["task"] != "outbox.deliver":
            continue
        message_id = next((str(i) for i in ids if str(i) in headers["kwargsrepr"]), None)
        if message_id is not None:
            found.append(message_id)
            remove()
    return found


@contextmanager
def _spy_on_publishing(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The broker connection each real publish went through, in order."""
    used: list[Any] = []
    real = tasks.outbox_deliver.apply_async

    def apply_async(*args: Any, **kwargs: Any) -> Any:
        used.append(kwargs["producer"].connection)
        return real(*args, **kwargs)

    monkeypatch.setattr(tasks.outbox_deliver, "apply_async", apply_async)
    yield used


def test_one_transaction_is_relayed_by_one_claim_over_one_pooled_connection(committed, monkeypatch):
    with schema_context("agence_a"), _spy_on_publishing(monkeypatch) as used:
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            first = _enqueue(committed, 3)
        with CaptureQueriesContext(connection) as queries_again, transaction.atomic():
            second = _enqueue(committed, 2)

    assert _claims(queries) == 1
    assert _claims(queries_again) == 1
    assert sorted(_take_from_queue(first + second)) == sorted(map(str, first + second))
    assert len(used) == 5
    assert len({id(conn) for conn in used}) == 1  # one connection, taken back from the pool
    assert {row.status for row in _rows(committed)} == {Status.PENDING}
    assert all(row.lease_until is not None for row in _rows(committed))


def test_messages_of_a_rolled_back_savepoint_or_transaction_are_not_published(committed, published):
    @transaction.atomic
    def change(*, fail: bool) -> None:  # one Atomic object, reused by every call
        _enqueue(committed)
        if fail:
            raise RuntimeError("the change failed")

    with schema_context("agence_a"):
        with pytest.raises(RuntimeError):
            change(fail=True)

        def other_change() -> None:
            with transaction.atomic():
                _enqueue(committed, 2)
                raise RuntimeError("the change failed")

        with pytest.raises(RuntimeError):
            other_change()
        assert published.ids == []
        assert published.connections == 0

        with transaction.atomic():
            [kept] = _enqueue(committed)
            try:
                with transaction.atomic():
                    _enqueue(committed)
                    raise RuntimeError("the savepoint failed")
            except RuntimeError:
                pass
            [kept_too] = _enqueue(committed)
        assert published.ids == [kept, kept_too]
        assert published.connections == 1

        change(fail=False)
    assert published.ids == [kept, kept_too, committed[-1]]
    assert published.connections == 2
    assert len(_rows(committed)) == 3


def test_messages_written_in_two_schemas_share_one_kick(committed, published, agency_b):
    with transaction.atomic():
        with schema_context("agence_a"):
            in_a = _enqueue(committed, 2)
        with schema_context("agence_b"):
            in_b = outbox_enqueue(kind=Kind.DOCUMENT, payload={})
    try:
        assert published.ids == [*in_a, in_b.pk]
        assert published.connections == 1
    finally:
        with schema_context("agence_b"):
            OutboxMessage.objects.filter(pk=in_b.pk).delete()


def test_a_large_transaction_is_relayed_in_claims_of_the_batch_size(committed, published, settings):
    settings.OUTBOX_RELAY_BATCH = 2
    with (
        schema_context("agence_a"),
        CaptureQueriesContext(connection) as queries,
        transaction.atomic(),
    ):
        ids = _enqueue(committed, 5)

    assert published.ids == ids  # all of them now, not 2 now and 3 at the next beat
    assert _claims(queries) == 3
    assert published.connections == 1


@pytest.mark.django_db
def test_a_requeue_kicks_once_for_all_its_messages(
    agency_a, published, fake_handler_kind, django_capture_on_commit_callbacks
):
    fake_handler_kind.failures = 2
    fake_handler_kind.permanent = True
    with schema_context("agence_a"):
        dead = [outbox_enqueue(kind=Kind.DOCUMENT, payload={}).pk for _ in range(2)]
        for pk in dead:
            outbox_process(message_id=pk)

        with django_capture_on_commit_callbacks(execute=True):
            assert outbox_requeue(message_ids=dead) == 2

    assert sorted(published.ids) == sorted(dead)
    assert published.connections == 1


def test_broker_down_at_commit_the_caller_goes_on_at_once_and_rows_stay_due(committed, settings):
    settings.CELERY_BROKER_URL = DEAD_BROKER
    with schema_context("agence_a"):
        started = time.monotonic()
        with transaction.atomic():
            ids = _enqueue(committed, 3)
        waited = time.monotonic() - started

    assert waited < 1.0
    rows = _rows(ids)
    assert {row.status for row in rows} == {Status.PENDING}
    assert all(row.lease_until is None for row in rows)  # the periodic relay publishes them

    settings.CELERY_BROKER_URL = BROKER_URL  # the broker is back
    with schema_context("agence_a"):
        assert outbox_relay(message_ids=ids) == 3
    assert sorted(_take_from_queue(ids)) == sorted(map(str, ids))


# --- A broker behind a loopback proxy that can drop its connections, or hang ------------------


class _Proxy:
    """Forwards loopback TCP connections to the real broker; ``drop()`` cuts them all."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass

    def drop(self) -> None:
        for sock in self.sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.sockets.clear()

    def close(self) -> None:
        with suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
        self.listener.close()
        self.drop()


def _broker_address() -> tuple[str, int, str]:
    """Host, port and database of the Redis broker (the ``redis`` marker skips other brokers)."""
    url = BROKER_URL
    host_port, _, db = url.removeprefix("redis://").rpartition("@")[2].partition("/")
    host, _, port = host_port.partition(":")
    return host or "127.0.0.1", int(port or 6379), db or "0"


@pytest.mark.redis
def test_a_pooled_connection_closed_while_idle_is_replaced_once(committed, settings):
    host, port, db = _broker_address()
    proxy = _Proxy((host, port))
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{proxy.port}/{db}"
    try:
        with schema_context("agence_a"):
            with transaction.atomic():
                warm = _enqueue(committed)
            sockets_per_connection = proxy.accepted
            proxy.drop()  # a broker restart: the pooled connection's socket is dead
            started = time.monotonic()
            with transaction.atomic():
                after_restart = _enqueue(committed)
            waited = time.monotonic() - started
            reconnected = proxy.accepted - sockets_per_connection
            proxy.close()  # now the broker is down for good
            with transaction.atomic():
                while_down = _enqueue(committed)
    finally:
        proxy.close()

    assert waited < 1.0
    # Replaced once: a new connection opens no more sockets than the first (redis-py's pool).
    assert 1 <= reconnected <= sockets_per_connection
    leased = {row.pk for row in _rows(committed) if row.lease_until is not None}
    assert leased == {*warm, *after_restart}
    assert while_down[0] not in leased
    assert sorted(_take_from_queue(warm + after_restart)) == sorted(map(str, warm + after_restart))


def test_a_broker_that_never_answers_holds_the_caller_for_the_timeout_only(committed, settings):
    silent = socket.create_server(("127.0.0.1", 0))  # the kernel accepts; nobody answers
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
    try:
        with schema_context("agence_a"):
            started = time.monotonic()
            with transaction.atomic():
                ids = _enqueue(committed, 2)
            waited = time.monotonic() - started
    finally:
        silent.close()

    assert waited < broker.PUBLISH_TIMEOUT + 1.0
    assert all(row.lease_until is None for row in _rows(ids))
