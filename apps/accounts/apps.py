"""Identity: users, agency memberships, partner clients, tokens."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """The global identity lives in the public schema."""

    name = "apps.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"
