"""The audit trail: who did what, when, from where, with what outcome."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    """Audit events live in the public schema (platform) and in every agency schema."""

    name = "apps.audit"
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"
