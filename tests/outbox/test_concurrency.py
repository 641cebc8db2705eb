"""Relays racing each other on committed rows: SKIP LOCKED and leases, never a double publish.

No test transaction here: the rows must be committed for other connections to see them, so
the test cleans up after itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.outbox import services as outbox_services
from apps.outbox.models import Kind, OutboxMessage


def test_concurrent_relays_never_publish_a_row_twice(agency_a, django_db_blocker, monkeypatch):
    """Two relays on separate connections, committed rows, small batches, slow publishing."""
    published: list[Any] = []
    lock = threading.Lock()

    @contextmanager
    def slow_publisher() -> Iterator[Any]:
        def publish(message_id: Any, request_id: str = "") -> None:
            time.sleep(0.005)  # widen the window in which both relays run
            with lock:
                published.append(message_id)

        yield publish

    monkeypatch.setattr(outbox_services, "broker_publisher", slow_publisher)
    with django_db_blocker.unblock():
        now = timezone.now()
        with schema_context("agence_a"):
            rows = OutboxMessage.objects.bulk_create(
                [
                    OutboxMessage(kind=Kind.DOCUMENT, payload={"n": n}, next_attempt_at=now)
                    for n in range(60)
                ]
            )
        ids = {row.pk for row in rows}
        try:
            counts: list[int] = []
            errors: list[BaseException] = []

            def relay() -> None:
                try:
                    total = 0
                    with schema_context("agence_a"):
                        while True:
                            done = outbox_services.outbox_relay(limit=7)
                            if not done:
                                break
                            total += done
                    counts.append(total)
                except BaseException as exc:  # pragma: no cover - reported below
                    errors.append(exc)
                finally:
                    connections.close_all()

            threads = [threading.Thread(target=relay) for _ in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)

            assert errors == []
            assert sorted(map(str, published)) == sorted(map(str, ids))  # each exactly once
            assert sum(counts) == 60
            assert sum(1 for c in counts if c) >= 2, counts  # the relays really shared the work
        finally:
            with schema_context("agence_a"):
                OutboxMessage.objects.filter(pk__in=ids).delete()
