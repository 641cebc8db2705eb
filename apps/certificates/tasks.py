"""Celery entry points of certificates: the periodic sweep of orphan files, per agency."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from apps.agencies.selectors import agency_list
from apps.certificates.services import certificate_orphans_sweep
from apps.core.context import set_context, system_context


@shared_task(
    name="certificates.sweep_orphans",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def certificates_sweep_orphans() -> int:
    """Delete the orphan certificate files of the agency this task was queued for."""
    set_context(system_context("certificates.sweep_orphans"))
    grace = timedelta(seconds=float(settings.CERTIFICATES_ORPHAN_GRACE_SECONDS))
    return len(certificate_orphans_sweep(older_than=grace))


@shared_task(name="certificates.sweep_orphans_all", acks_late=True, ignore_result=True)
def certificates_sweep_orphans_all() -> list[str]:
    """Periodic: one sweep per agency, in its schema."""
    from django_tenants.utils import schema_context

    set_context(system_context("certificates.sweep_orphans_all"))
    schemas = list(agency_list(include_inactive=True).values_list("schema_name", flat=True))
    for schema in schemas:
        with schema_context(schema):
            certificates_sweep_orphans.delay()
    return schemas
