"""The service catalogue of an agency (one copy per agency schema)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogueConfig(AppConfig):
    """Services an agency offers: forms (JSON Schema), documents, fees, deadlines; holidays."""

    name = "apps.catalogue"
    label = "catalogue"
    verbose_name = _("Catalogue")
    default_auto_field = "django.db.models.BigAutoField"
