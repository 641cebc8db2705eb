"""The audit trail: who did what, when, from where, with what outcome."""

from typing import Any

from django.apps import AppConfig


def protect_migrated_schema(sender: Any, schema_name: str, **kwargs: Any) -> None:
    """After django-tenants migrates (or clones) a schema, make its audit tables append-only.

    The template's triggers are normally cloned with it; this makes sure of it for every
    schema, whatever created it. Idempotent.
    """
    from django.db import connection

    from apps.audit.protection import audit_protect_schema

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f'"{schema_name}".audit_auditcheckpoint'])
        if cursor.fetchone()[0] is None:
            return
        audit_protect_schema(cursor, schema_name)


class AuditConfig(AppConfig):
    """Audit events live in the public schema (platform) and in every agency schema."""

    name = "apps.audit"
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_tenants.signals import schema_migrated

        from apps.audit import checks  # noqa: F401  (registers the system checks)

        schema_migrated.connect(
            protect_migrated_schema, dispatch_uid="audit_protect_migrated_schema"
        )
