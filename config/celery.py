"""Celery application with tenant-schemas-celery.

A task sent while the connection is on an agency's schema carries that schema in its headers,
and the worker switches to it before running the task, so tasks read their agency's data only.
Tasks take ids, never ORM objects.

Broker outages: the worker and beat reconnect by themselves however long the broker is away
(``CELERY_BROKER_CONNECTION_MAX_RETRIES = None`` in the settings). The worker's consumer
retries at most every ``CELERY_BROKER_RETRY_MAX_SECONDS`` (Celery's own back-off grows to 30 s,
so a worker could notice a returned broker half a minute late), and each time it has
(re)connected it asks for an outbox relay (``apps.outbox.worker``), so messages held back by the
outage are published within seconds of the broker's return.
"""

from __future__ import annotations

import os
from typing import Any

from celery.worker.consumer import Consumer as CeleryConsumer
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")


class Consumer(CeleryConsumer):
    """Celery's consumer, reconnecting to the broker at a bounded interval."""

    def ensure_connected(self, conn: Any) -> Any:
        """Celery's reconnection loop with back-off 1 s, 2 s, ... up to the configured cap."""
        from django.conf import settings

        ensure_connection = conn.ensure_connection
        cap = float(getattr(settings, "CELERY_BROKER_RETRY_MAX_SECONDS", 2.0))

        def bounded(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("interval_start", min(1.0, cap))
            kwargs.setdefault("interval_step", min(1.0, cap))
            kwargs.setdefault("interval_max", cap)
            return ensure_connection(*args, **kwargs)

        conn.ensure_connection = bounded
        return super().ensure_connected(conn)


app = CeleryApp("guichet")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _add_steps() -> None:
    from apps.outbox.worker import OutboxRelayOnConnect

    app.steps["consumer"].add(OutboxRelayOnConnect)


_add_steps()
