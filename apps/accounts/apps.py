"""Identity: users, agency memberships, partner clients, tokens."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    """The global identity lives in the public schema."""

    default = True

    def ready(self) -> None:
        """Register the OpenAPI description of the bearer authentication; sign and verify
        every token with the key ring."""
        from apps.accounts import openapi  # noqa: F401
        from apps.accounts.token_backend import install_token_backend

        install_token_backend()

    name = "apps.accounts"
    label = "accounts"
    verbose_name = _("People and access")
    default_auto_field = "django.db.models.BigAutoField"


class GuichetAdminConfig(admin_apps.AdminConfig):
    """Installs ``apps.accounts.admin_site.GuichetAdminSite`` as ``admin.site``."""

    default = False
    default_site = "apps.accounts.admin_site.GuichetAdminSite"
