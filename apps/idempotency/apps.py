"""Idempotency of creating POSTs: durable records in every schema, in-flight markers in hot keys."""

from django.apps import AppConfig


class IdempotencyConfig(AppConfig):
    """Installed in the public schema and in every agency schema (one table per schema)."""

    name = "apps.idempotency"
    label = "idempotency"
    verbose_name = "Idempotency"
    default_auto_field = "django.db.models.BigAutoField"
