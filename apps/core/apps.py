"""Cross-cutting plumbing: errors, request context, logging, health."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Errors, middleware, health endpoints and shared building blocks."""

    name = "apps.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"
