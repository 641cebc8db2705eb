"""The real-time gateway: application events pushed over WebSocket and Server-Sent Events."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RealtimeConfig(AppConfig):
    """Events live in the public schema: one log, one id sequence, for every agency."""

    name = "apps.realtime"
    label = "realtime"
    verbose_name = _("Real-time events")
    default_auto_field = "django.db.models.BigAutoField"
