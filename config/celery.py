"""Celery application with tenant-schemas-celery.

A task sent while the connection is on an agency's schema carries that schema in its headers,
and the worker switches to it before running the task, so tasks read their agency's data only.
Tasks take ids, never ORM objects.

Worker and beat log through Django's ``LOGGING`` (one JSON object per line, like the web):
Celery's own logging set-up is replaced by the ``setup_logging`` receiver below and never
takes over the root logger. The request id that queued a task travels in its headers into the
task's context and log lines (apps/core/taskcontext.py).

Broker outages: the worker and beat reconnect by themselves however long the broker is away
(``CELERY_BROKER_CONNECTION_MAX_RETRIES = None`` in the settings). The worker's consumer
retries at most every ``CELERY_BROKER_RETRY_MAX_SECONDS`` (Celery's own back-off grows to 30 s,
so a worker could notice a returned broker half a minute late), and each time it has
(re)connected it asks for an outbox relay (``apps.outbox.worker``), so messages held back by the
outage are published within seconds of the broker's return.
"""

from __future__ import annotations

import logging.config
import os
from typing import Any

from celery.signals import celeryd_init, setup_logging
from celery.worker.consumer import Consumer as CeleryConsumer
from tenant_schemas_celery.app import CeleryApp

from apps.core.taskcontext import connect_signals

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
app.conf.worker_hijack_root_logger = False
app.autodiscover_tasks()


@celeryd_init.connect(weak=False, dispatch_uid="guichet_celery_logging_early")
@setup_logging.connect(weak=False, dispatch_uid="guichet_celery_logging")
def configure_logging(**kwargs: Any) -> None:
    """Worker and beat: Django's ``LOGGING`` (structlog JSON) instead of Celery's format.

    Connecting this receiver is what stops Celery from installing its own handlers; it also
    runs at ``celeryd_init``, before the worker's first checks warn about anything. Once
    Django is set up its ``LOGGING`` is already in force and is left alone (an in-process
    test worker must not reset the test run's logging).
    """
    from django.apps import apps
    from django.conf import settings

    if not apps.ready:
        logging.config.dictConfig(settings.LOGGING)
    # Python warnings (Celery's own, at start-up) become log events too, not raw text lines.
    logging.captureWarnings(True)


connect_signals()


def _add_steps() -> None:
    from apps.outbox.worker import OutboxRelayOnConnect

    app.steps["consumer"].add(OutboxRelayOnConnect)


_add_steps()
