"""Django app of the second factor: its own models and migrations (public schema)."""

from django.apps import AppConfig


class MfaConfig(AppConfig):
    """Recovery codes beside django-otp's TOTP devices, in the public schema."""

    name = "apps.accounts.mfa"
    label = "mfa"
    verbose_name = "second factor"
    default_auto_field = "django.db.models.BigAutoField"
