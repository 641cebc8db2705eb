"""Idempotency of creating POSTs: durable records in every schema, in-flight markers in hot keys."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdempotencyConfig(AppConfig):
    """Installed in the public schema and in every agency schema (one table per schema)."""

    name = "apps.idempotency"
    label = "idempotency"
    verbose_name = _("Idempotency (internal)")
    default_auto_field = "django.db.models.BigAutoField"
