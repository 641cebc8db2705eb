"""The transactional outbox: side effects written with the change that causes them."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutboxConfig(AppConfig):
    """Outbox messages live in the public schema and in every agency schema."""

    name = "apps.outbox"
    label = "outbox"
    verbose_name = _("Outbox")
    default_auto_field = "django.db.models.BigAutoField"
