"""Cross-agency indexes kept in the public schema."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DirectoryConfig(AppConfig):
    """Public-schema copies of agency data that must be read across agencies in one query."""

    name = "apps.directory"
    label = "directory"
    verbose_name = _("Directory")
    default_auto_field = "django.db.models.BigAutoField"
