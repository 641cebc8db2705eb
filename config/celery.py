"""Celery application with tenant-schemas-celery.

A task sent while the connection is on an agency's schema carries that schema in its headers,
and the worker switches to it before running the task, so tasks read their agency's data only.
Tasks take ids, never ORM objects.

Worker and beat log through Django's ``LOGGING`` (one JSON object per line, like the web):
Celery's own logging set-up is replaced by the ``setup_logging`` receiver below and never
takes over the root logger. The request id that queued a task travels in its headers into the
task's context and log lines (apps/core/taskcontext.py).
"""

from __future__ import annotations

import logging.config
import os
from typing import Any

from celery.signals import celeryd_init, setup_logging
from tenant_schemas_celery.app import CeleryApp

from apps.core.taskcontext import connect_signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

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
