"""Celery application with tenant-schemas-celery.

A task sent while the connection is on an agency's schema carries that schema in its headers,
and the worker switches to it before running the task, so tasks read their agency's data only.
Tasks take ids, never ORM objects.
"""

from __future__ import annotations

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = CeleryApp("guichet")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
