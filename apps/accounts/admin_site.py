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
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import get_public_schema_name

from apps.core.tenancy import current_schema


def may_use_console(user: Any) -> bool:
    """Whether ``user`` may use the admin console of the current schema."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    if current_schema() == get_public_schema_name():
        return bool(user.is_superuser)
    from apps.accounts.models import Membership

    return Membership.objects.filter(
        user=user, agency__schema_name=current_schema(), is_active=True
    ).exists()


class ConsoleAuthenticationForm(AdminAuthenticationForm):
    """Sign-in form of the console: membership of this agency instead of ``is_staff``."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": _("The login or the password is wrong, or this console is not yours."),
        "locked": _("Too many failed sign-ins. Try again in %(minutes)d minutes."),
        "unavailable": _("Sign-in is temporarily unavailable. Please try again shortly."),
    }

    def clean(self) -> dict[str, Any]:
        """The API's lockout applies here too: checked before the password, failures counted."""
        from apps.accounts import lockout
        from apps.core.errors import ServiceUnavailableError
        from apps.core.middleware import client_ip

        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not username or not password:
            return super().clean()
        try:
            attempt = lockout.login_attempt_begin(
                login=str(username), source=client_ip(self.request) if self.request else None
            )
        except lockout.LoginLocked as exc:
            minutes = max(1, -(-exc.retry_after // 60))
            raise forms.ValidationError(
                self.error_messages["locked"], code="locked", params={"minutes": minutes}
            ) from exc
        except ServiceUnavailableError as exc:
            raise forms.ValidationError(
                self.error_messages["unavailable"], code="unavailable"
            ) from exc
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if self.user_cache is None:  # wrong password (not: right one, other console)
                lockout.login_attempt_failed(attempt)
            else:
                lockout.login_attempt_succeeded(attempt)
            raise
        lockout.login_attempt_succeeded(attempt)
        return cleaned

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
        """A member (or platform administrator) whose session passed the second factor."""
        from apps.accounts.mfa.console import console_session_verified

        return may_use_console(request.user) and console_session_verified(request)

    def login(self, request: HttpRequest, extra_context: Any = None) -> Any:
        """The password step; the second factor follows (``apps.accounts.mfa.console``)."""
        from apps.accounts.mfa.console import console_login

        return console_login(self, request, extra_context)

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        """The admin's context, and whether to link the second-factor reset page (agency
        admins on their agency's host, platform administrators on the public host)."""
        context = super().each_context(request)
        may_reset = False
        if context.get("has_permission"):
            if current_schema() == get_public_schema_name():
                may_reset = bool(request.user.is_superuser)
            else:
                from apps.accounts.models import Role

                may_reset = console_role(request) == Role.AGENCY_ADMIN
        context["console_may_reset_mfa"] = may_reset
        return context

    def get_urls(self) -> list[Any]:
        """The second-factor pages (sign-in step, enrolment, resets) before the admin's."""
        from apps.accounts.mfa.console import mfa_urls

        return [*mfa_urls(self), *super().get_urls()]


def console_role(request: HttpRequest) -> str | None:
    """The signed-in user's active role in the agency of this host (None elsewhere).

    Cached on the request: admin pages ask for it many times per render.
    """
    cached = getattr(request, "_console_role", "unset")
    if cached != "unset":
        return cached
    role: str | None = None
    user = request.user
    if user.is_authenticated and user.is_active and current_schema() != get_public_schema_name():
        from apps.accounts.models import Membership

        role = (
            Membership.objects.filter(
                user=user, agency__schema_name=current_schema(), is_active=True
            )
            .values_list("role", flat=True)
            .first()
        )
    request._console_role = role  # type: ignore[attr-defined]
    return role


class RoleAdminMixin:
    """Model admin permissions from the agency role instead of Django's per-user permissions.

    Set ``view_roles``, ``add_roles``, ``change_roles`` and ``delete_roles`` to the roles (values
    of ``apps.accounts.models.Role``) allowed each operation in the agency console. Platform
    administrators keep Django's own rules on the public host.
    """

    view_roles: frozenset[str] = frozenset()
    add_roles: frozenset[str] = frozenset()
    change_roles: frozenset[str] = frozenset()
    delete_roles: frozenset[str] = frozenset()

    def _role_allows(self, request: HttpRequest, roles: frozenset[str]) -> bool:
        role = console_role(request)
        return role is not None and role in roles

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._role_allows(request, self.view_roles | self.change_roles)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._role_allows(request, self.add_roles)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._role_allows(request, self.change_roles)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._role_allows(request, self.delete_roles)


class ReadOnlyRoleAdminMixin(RoleAdminMixin):
    """A console page that nobody can add to, change or delete from: records kept as evidence
    (audit events, issued certificates, outbox messages). Viewing follows ``view_roles``."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
