"""Platform internals in the console: visible to platform superusers only, never changed by hand.

The token blacklist (simplejwt's outstanding and blacklisted refresh tokens) is registered by
its own app with add/change/delete allowed to anyone holding Django's model permissions; here
it becomes read-only and reserved to superusers, like idempotency records
(``apps.idempotency.admin``) and the raw payloads of outbox messages (``apps.outbox.admin``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from rest_framework_simplejwt.token_blacklist import admin as token_admin
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken


def is_platform_superuser(request: HttpRequest) -> bool:
    """The signed-in user is an active platform superuser."""
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


class SuperuserReadOnlyMixin:
    """Visible to platform superusers only; nobody adds, changes or deletes."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_platform_superuser(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_superuser(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OutstandingTokenInternalAdmin(SuperuserReadOnlyMixin, token_admin.OutstandingTokenAdmin):
    """Refresh tokens issued (internal)."""


class BlacklistedTokenInternalAdmin(SuperuserReadOnlyMixin, token_admin.BlacklistedTokenAdmin):
    """Refresh tokens revoked (internal)."""


for model, model_admin in (
    (OutstandingToken, OutstandingTokenInternalAdmin),
    (BlacklistedToken, BlacklistedTokenInternalAdmin),
):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
