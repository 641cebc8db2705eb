"""Console pages outside the model admins: accepting an invitation, resetting a password.

Routes (served on every host, before ``admin/``):

* ``admin/invitation/<token>/`` — the invitee chooses a password; then the console sign-in
  (``invitations.invitation_next_url``, where the second factor is enrolled once it exists);
* ``admin/password_reset/`` — "forgot password" of the console sign-in (Django's admin login
  page shows the link when this URL name, ``admin_password_reset``, exists): the same answer
  whether the login exists or not, the link sent only to a member of this agency (a platform
  admin on the public host);
* ``admin/password_reset/<uidb64>/<token>/`` — the single-use link (Django's reset token);
  the new password ends every session (``passwords.password_reset_complete``).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.admin import site as admin_site
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView

from apps.accounts import invitations, passwords
from apps.accounts.identifiers import normalize_login
from apps.accounts.models import User
from apps.agencies.models import Agency
from apps.core.errors import ApplicationError
from apps.core.tenancy import current_schema


def _host_agency() -> Agency | None:
    return Agency.objects.filter(schema_name=current_schema()).exclude(schema_name="public").first()


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    # Pages for people who are not signed in: no navigation sidebar (it would say "you may
    # see nothing").
    return {**admin_site.each_context(request), "is_nav_sidebar_enabled": False, **extra}


def _no_store(response: HttpResponseBase) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    # The token is in the page's address: never sent to another site. (Not "no-referrer":
    # Chromium then posts the form with "Origin: null", which the CSRF check refuses.)
    response["Referrer-Policy"] = "same-origin"
    return cast(HttpResponse, response)


class NewPasswordForm(forms.Form):
    """A password typed twice, checked by the platform's validators."""

    new_password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "autofocus": True}),
    )
    new_password2 = forms.CharField(
        label=_("New password (again)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, second = cleaned.get("new_password1"), cleaned.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", _("The two passwords differ."))
        return cleaned


@method_decorator([sensitive_post_parameters(), never_cache, csrf_protect], name="dispatch")
class InvitationAcceptView(FormView):
    """The page of an invitation link: choose a password, join the agency's staff."""

    form_class = NewPasswordForm
    template_name = "accounts/console/invitation_accept.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            self.invitation = invitations.invitation_for_token(
                token=kwargs["token"], agency=_host_agency()
            )
        except ApplicationError as exc:
            response = TemplateResponse(
                request,
                "accounts/console/invitation_invalid.html",
                _context(request, title=_("Invitation"), message=str(exc.detail)),
                status=400,
            )
            return _no_store(response)
        return _no_store(super().dispatch(request, *args, **kwargs))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            **_context(self.request, title=_("Join the staff")),
            **super().get_context_data(**kwargs),
            "invitation": self.invitation,
            "login": self.invitation.email or self.invitation.phone,
        }

    def form_valid(self, form: NewPasswordForm) -> HttpResponse:
        try:
            invitations.invitation_accept(
                token=self.kwargs["token"],
                password=form.cleaned_data["new_password1"],
                agency=_host_agency(),
            )
        except ApplicationError as exc:
            errors = getattr(exc, "errors", None) or {}
            for message in errors.get("password", []) or [str(exc.detail)]:
                form.add_error("new_password1", message)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("Your password is set. Sign in with %(login)s.")
            % {"login": self.invitation.email or self.invitation.phone},
        )
        return HttpResponseRedirect(invitations.invitation_next_url())


class ForgotPasswordForm(forms.Form):
    """The login of the console account."""

    login = forms.CharField(
        label=_("Email address or phone number"),
        max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )


@method_decorator([never_cache, csrf_protect], name="dispatch")
class ForgotPasswordView(FormView):
    """ "Forgot password" of the console: a link to members of this console only, and the
    same answer (and, padded, about the same time) for every login."""

    form_class = ForgotPasswordForm
    template_name = "accounts/console/forgot_password.html"
    success_url = reverse_lazy("console-password-reset-done")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            **_context(self.request, title=_("Forgot your password?")),
            **super().get_context_data(**kwargs),
        }

    def form_valid(self, form: ForgotPasswordForm) -> HttpResponse:
        started = time.monotonic()
        try:
            field, value = normalize_login(form.cleaned_data["login"])
        except ValidationError:
            user = None
        else:
            user = User.objects.filter(**{field: value}).first()
        if user is not None and passwords.staff_may_reset(user, current_schema()):
            # A failed delivery is logged by the service; the answer stays the same.
            with contextlib.suppress(ApplicationError):
                passwords.staff_password_reset_send(
                    user=user, base_url=self.request.build_absolute_uri("/")
                )
        passwords.pad_to_floor(started)
        return super().form_valid(form)


def forgot_password_done(request: HttpRequest) -> HttpResponse:
    """What the console says after a "forgot password", whatever the login was."""
    return TemplateResponse(
        request,
        "accounts/console/forgot_password_done.html",
        _context(request, title=_("Check your messages")),
    )


class ResetSetPasswordForm(SetPasswordForm):
    """Django's form, saving through the service that ends every session and audits."""

    def save(self, commit: bool = True) -> Any:
        passwords.password_reset_complete(
            user=self.user, new_password=self.cleaned_data["new_password1"], how="link"
        )
        return self.user


class ResetConfirmView(auth_views.PasswordResetConfirmView):
    """The single-use link: Django's view and token, the platform's service."""

    form_class = ResetSetPasswordForm
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("console-password-reset-complete")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**_context(self.request), **super().get_context_data(**kwargs)}

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            return super().form_valid(form)
        except ApplicationError as exc:
            form.add_error("new_password2", str(exc.detail))
            return self.form_invalid(form)


class ResetCompleteView(auth_views.PasswordResetCompleteView):
    """Done: sign in with the new password."""

    template_name = "registration/password_reset_complete.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = {**_context(self.request), **super().get_context_data(**kwargs)}
        context["login_url"] = reverse("admin:login")
        return context


console_urlpatterns = [
    path(
        "admin/invitation/<str:token>/",
        InvitationAcceptView.as_view(),
        name="console-invitation-accept",
    ),
    path("admin/password_reset/", ForgotPasswordView.as_view(), name="admin_password_reset"),
    path("admin/password_reset/done/", forgot_password_done, name="console-password-reset-done"),
    path(
        "admin/password_reset/complete/",
        ResetCompleteView.as_view(),
        name="console-password-reset-complete",
    ),
    path(
        "admin/password_reset/<uidb64>/<token>/",
        ResetConfirmView.as_view(),
        name="console-password-reset-confirm",
    ),
]
