"""Celery entry points of applications: take ids, call one service, safe to run twice."""

from __future__ import annotations

import structlog
from celery import shared_task
from django_tenants.utils import schema_context

from apps.agencies.selectors import agency_list
from apps.applications.services import applications_flag_overdue
from apps.core.context import set_context, system_context
from apps.core.tenancy import current_schema

logger = structlog.get_logger(__name__)


@shared_task(name="applications.flag_overdue", acks_late=True)
def flag_overdue() -> int:
    """Flag the overdue applications of the agency this task was queued for."""
    set_context(system_context("applications.flag_overdue"))
    flagged = applications_flag_overdue()
    logger.info("applications_flag_overdue_done", agency=current_schema(), flagged=flagged)
    return flagged


@shared_task(name="applications.flag_overdue_all_agencies", acks_late=True)
def flag_overdue_all_agencies() -> int:
    """Periodic: queue ``flag_overdue`` once per active agency, each in its own schema."""
    set_context(system_context("applications.flag_overdue_all_agencies"))
    schemas = list(agency_list(include_inactive=False).values_list("schema_name", flat=True))
    for schema in schemas:
        with schema_context(schema):
            flag_overdue.delay()
    return len(schemas)
