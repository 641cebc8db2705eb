"""The admin console: one per host, open only to the people who belong there.

On an agency host only active members of that agency may sign in (a civil servant of agency
A is refused on agency B's console); on the public host only platform administrators. Django's
default requires ``is_staff``, a platform-wide flag that knows nothing of agencies.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.db import connection
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import get_public_schema_name


def may_use_console(user: Any) -> bool:
    """Whether ``user`` may use the admin console of the current schema."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    if connection.schema_name == get_public_schema_name():
        return bool(user.is_superuser)
    from apps.accounts.models import Membership

    return Membership.objects.filter(
        user=user, agency__schema_name=connection.schema_name, is_active=True
    ).exists()


class ConsoleAuthenticationForm(AdminAuthenticationForm):
    """Sign-in form of the console: membership of this agency instead of ``is_staff``."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": _("The login or the password is wrong, or this console is not yours."),
    }

    def confirm_login_allowed(self, user: Any) -> None:
        if not may_use_console(user):
            raise forms.ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class GuichetAdminSite(admin.AdminSite):
    """The console of the agency (or of the platform) the host resolves to."""

    site_header = _("Guichet — console")
    site_title = _("Guichet")
    index_title = _("Administration")
    login_form = ConsoleAuthenticationForm

    def has_permission(self, request: HttpRequest) -> bool:
        return may_use_console(request.user)
