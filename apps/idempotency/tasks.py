"""Periodic purge of idempotency records, fanned out over the public and every agency schema."""

from __future__ import annotations

import structlog
from celery import shared_task
from django.db import transaction
from django_tenants.utils import get_public_schema_name, get_tenant_model, schema_context

from apps.core.context import set_context, system_context
from apps.idempotency.services import idempotency_records_purge

logger = structlog.get_logger(__name__)


@shared_task(name="apps.idempotency.tasks.idempotency_purge_expired", acks_late=True)
def idempotency_purge_expired() -> dict[str, int]:
    """Delete records older than the TTL in every schema; return ``{schema: deleted}``.

    Idempotent; a failing schema is logged and skipped so the others are still purged.
    """
    set_context(system_context("idempotency.purge_expired"))
    public = get_public_schema_name()
    with schema_context(public):
        agencies = (
            get_tenant_model()
            .objects.exclude(schema_name=public)
            .order_by("schema_name")
            .values_list("schema_name", flat=True)
        )
        schemas = [public, *agencies]
    results: dict[str, int] = {}
    for schema in schemas:
        try:
            with schema_context(schema), transaction.atomic():
                results[schema] = idempotency_records_purge()
        except Exception as exc:
            logger.warning("idempotency_purge_failed", agency=schema, exc_type=type(exc).__name__)
    logger.info("idempotency_purged", deleted=sum(results.values()), schemas=len(results))
    return results
