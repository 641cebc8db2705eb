"""Citizens' applications to an agency's services (one copy per agency schema)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApplicationsConfig(AppConfig):
    """Applications, their attachments, history, internal notes and reference sequences."""

    name = "apps.applications"
    label = "applications"
    verbose_name = _("Applications")
    default_auto_field = "django.db.models.BigAutoField"
