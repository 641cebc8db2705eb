"""Cross-cutting plumbing: errors, request context, logging, health."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Errors, middleware, health endpoints and shared building blocks."""

    name = "apps.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Log uncaught request exceptions; create the folders of Celery's filesystem transport
        when it is the broker.

        Without those folders a worker dies at start-up and a producer cannot queue: every
        process that loads Django (web, worker, beat, tests) makes sure they exist.
        """
        from pathlib import Path

        from django.conf import settings
        from django.core.signals import got_request_exception

        from apps.core.logging import log_uncaught_exception

        # Django's own hook for exceptions no view handled (middleware ones included): logging
        # only, no business rule.
        got_request_exception.connect(log_uncaught_exception, dispatch_uid="core_log_uncaught")

        from apps.core import openapi_hooks  # noqa: F401  (registers the schema extension)

        if str(settings.CELERY_BROKER_URL).startswith("filesystem"):
            for name, value in settings.CELERY_BROKER_TRANSPORT_OPTIONS.items():
                if name.endswith("folder") or name.startswith("data_folder"):
                    Path(value).mkdir(parents=True, exist_ok=True)
