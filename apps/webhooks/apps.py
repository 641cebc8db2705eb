"""Signed webhooks to partners subscribed to an agency's events."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """Subscriptions and the delivery log live in each agency's schema."""

    name = "apps.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")
    default_auto_field = "django.db.models.BigAutoField"
