"""Tasks run in the schema of the agency that queued them (real broker, real worker thread).

The broker is CELERY_BROKER_URL (Redis in CI), or Celery's filesystem transport when unset.
"""

from __future__ import annotations

import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connections
from django_tenants.utils import schema_context

from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core.tasks import schema_probe
from config.celery import app


def _close_worker_connections(**kwargs):
    connections.close_all()  # the worker thread's own connections, so the test DB can be dropped


def _probe_result(schema: str, marker: str) -> AuditEvent | None:
    with schema_context(schema):
        return AuditEvent.objects.filter(action="core.schema_probe", target_id=marker).first()


@pytest.mark.broker
def test_task_reads_the_schema_of_the_agency_that_queued_it(agency_a, agency_b, django_db_blocker):
    marker = f"probe.{uuid.uuid4().hex}"
    task_postrun.connect(_close_worker_connections, weak=False)
    try:
        with django_db_blocker.unblock():
            with schema_context(agency_a.schema_name):
                audit_record(action=marker)  # committed: visible to the worker's connection
            with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
                with schema_context(agency_a.schema_name):
                    schema_probe.delay(marker=marker)
                with schema_context(agency_b.schema_name):
                    schema_probe.delay(marker=marker)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    seen_a = _probe_result(agency_a.schema_name, marker)
                    seen_b = _probe_result(agency_b.schema_name, marker)
                    if seen_a and seen_b:
                        break
                    time.sleep(0.2)
            assert seen_a is not None, "the task queued on agency A never ran"
            assert seen_b is not None, "the task queued on agency B never ran"
            assert seen_a.changes["found"]["new"] is True
            assert seen_b.changes["found"]["new"] is False  # B cannot see A's marker
            assert seen_a.actor_id == "core.schema_probe"
            assert _probe_result("public", marker) is None
    finally:
        task_postrun.disconnect(_close_worker_connections)
