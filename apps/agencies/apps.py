"""Agencies (tenants) and their host names."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AgenciesConfig(AppConfig):
    """Each agency is a django-tenants tenant with its own PostgreSQL schema."""

    name = "apps.agencies"
    label = "agencies"
    verbose_name = _("Agencies")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Connect the host-cache invalidation signals."""
        from apps.agencies import signals  # noqa: F401
