"""Celery entry points of payments: take ids, call one service, safe to run twice."""

from __future__ import annotations

from uuid import UUID

import structlog
from celery import shared_task
from django_tenants.utils import schema_context

from apps.agencies.selectors import agency_list
from apps.core.context import set_context, system_context
from apps.core.tenancy import current_schema
from apps.payments.models import Payment
from apps.payments.services import payment_check, payments_reconcile, refund_process

logger = structlog.get_logger(__name__)


@shared_task(name="payments.reconcile", acks_late=True)
def reconcile() -> dict[str, int]:
    """Re-check the open payments and unfinished refunds of the agency it was queued for."""
    set_context(system_context("payments.reconcile"))
    result = payments_reconcile()
    logger.info("payments_reconcile_done", agency=current_schema(), **result)
    return result


@shared_task(name="payments.reconcile_all", acks_late=True)
def reconcile_all() -> int:
    """Periodic: queue ``reconcile`` once per active agency, each in its own schema."""
    set_context(system_context("payments.reconcile_all"))
    schemas = list(agency_list(include_inactive=False).values_list("schema_name", flat=True))
    for schema in schemas:
        with schema_context(schema):
            reconcile.delay()
    return len(schemas)


@shared_task(name="payments.refund_process", acks_late=True)
def refund_process_task(refund_id: str) -> str:
    """Send one refund now (the reconciliation sends it anyway if this never runs)."""
    set_context(system_context("payments.refund_process"))
    return str(refund_process(refund_id=UUID(refund_id)).status)


@shared_task(name="payments.check", acks_late=True)
def payment_check_task(payment_id: str) -> str:
    """Check one payment with the provider after a callback named it (safe to run twice)."""
    set_context(system_context("payments.check"))
    try:
        return str(payment_check(payment_id=UUID(payment_id), include_closed=True).status)
    except Payment.DoesNotExist:  # rolled back since it was queued: nothing to check
        logger.info("payment_check_missing")
        return "missing"
