"""Notifications to citizens and civil servants: SMS first, e-mail second."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    """No tables of its own: every notification is an outbox message until it is sent."""

    name = "apps.notifications"
    label = "notifications"
    verbose_name = _("Notifications")
