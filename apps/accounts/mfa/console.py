"""The console's sign-in with a second factor, enrolment, and resets of lost devices.

The password form does not sign anyone in: it leaves a "password done" mark in the session
(``PENDING_KEY``: the person, the authentication backend, when, where to go next) valid for
``MFA_CHALLENGE_SECONDS``. The next page asks for an authenticator or recovery code
(``verify``) or, for a person without an authenticator yet, enrols one (``enrol``: a fresh
secret as a QR code drawn on the server, confirmed by a first code, then ten recovery codes
shown once). Only then is the person signed in (``django.contrib.auth.login``) and the session
marked verified (``django_otp.login``); ``GuichetAdminSite.has_permission`` asks for both, so
no console page opens on a password alone. Wrong codes are counted in the hot-key store with
the API's (``attempts``).
"""

from __future__ import annotations

import json
import time
from base64 import b32encode, b64decode, b64encode
from typing import Any, cast

import django_otp
from django import forms
from django.conf import settings
from django.contrib import auth, messages
from django.contrib.admin import AdminSite
from django.contrib.auth.views import LoginView
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import get_public_schema_name

from apps.accounts.mfa import passkeys, services
from apps.accounts.mfa.errors import MfaAlreadyEnrolled, MfaInvalid, MfaLocked
from apps.accounts.mfa.models import PasskeyDevice
from apps.accounts.mfa.qr import qr_svg
from apps.accounts.models import Membership, Role, User
from apps.audit.services import audit_record
from apps.core.context import bind_actor
from apps.core.errors import ApplicationError, ServiceUnavailableError
from apps.core.tenancy import current_schema

PENDING_KEY = "mfa_pending"
ENROL_DEVICE_KEY = "mfa_enrol_device"
PASSKEY_REGISTRATION_KEY = "mfa_passkey_registration"
PASSKEY_AUTHENTICATION_KEY = "mfa_passkey_authentication"


class CodeForm(forms.Form):
    """One code: 6 digits from the authenticator app, or a recovery code."""

    otp = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}
        ),
    )


def _is_verified(request: HttpRequest) -> bool:
    user = request.user
    verified = getattr(user, "is_verified", None)
    return bool(user.is_authenticated and callable(verified) and verified())


def console_session_verified(request: HttpRequest) -> bool:
    """Whether this console session passed its second factor (``GuichetAdminSite``)."""
    return _is_verified(request)


def _pending(request: HttpRequest) -> tuple[User, dict[str, Any]] | None:
    """The person who gave their password on this session, if recently and still allowed."""
    from apps.accounts.admin_site import may_use_console

    mark = request.session.get(PENDING_KEY)
    if not isinstance(mark, dict):
        return None
    if time.time() - float(mark.get("at", 0)) > settings.MFA_CHALLENGE_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None
    user = User.objects.filter(pk=mark.get("user"), is_active=True).first()
    if user is None or not may_use_console(user) or mark.get("schema") != current_schema():
        return None
    return user, mark


def _pending_begin(request: HttpRequest, user: User, next_url: str) -> None:
    if request.user.is_authenticated:
        auth.logout(request)  # someone else's session on this browser ends first
    request.session.cycle_key()  # no session fixation across the password step
    request.session[PENDING_KEY] = {
        "user": str(user.pk),
        "backend": getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[0]),
        "at": time.time(),
        "next": next_url,
        "schema": current_schema(),
    }


def _complete(request: HttpRequest, user: User, mark: dict[str, Any], device: Any) -> str:
    """Sign the person in with the device that verified them; returns where to go next."""
    method = "passkey" if isinstance(device, PasskeyDevice) else "otp"
    with transaction.atomic():
        auth.login(request, user, backend=mark["backend"])
        django_otp.login(request, device)
        audit_record(
            action="auth.login",
            target_type="user",
            target_id=user.pk,
            changes={
                "kind": {"old": None, "new": "console"},
                "amr": {
                    "old": None,
                    "new": ["pwd", "hwk" if method == "passkey" else "otp", "mfa"],
                },
            },
            platform=True,
        )
    request.session.pop(PENDING_KEY, None)
    request.session.pop(ENROL_DEVICE_KEY, None)
    next_url = str(mark.get("next") or "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("admin:index")
    return next_url


def _bind(user: User) -> None:
    bind_actor(actor_type="user", actor_id=str(user.pk), actor_role="console")


class ConsolePasswordView(LoginView):
    """The console's first step: the password (lockout included, ``ConsoleAuthenticationForm``).

    A right password leads to the second factor, never straight into the console."""

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        next_url = self.get_redirect_url() or reverse("admin:index")
        _pending_begin(self.request, user, next_url)
        if services.has_second_factor(user):
            return HttpResponseRedirect(reverse("admin:mfa_verify"))
        return HttpResponseRedirect(reverse("admin:mfa_enrol"))


def _second_factor_step(request: HttpRequest) -> HttpResponse | None:
    """Where a session that gave its password but not its second factor goes: the code step
    (or enrolment) instead of the password form again. A session signed in before the second
    factor existed becomes such a step. ``?restart`` starts over with the password."""
    from apps.accounts.admin_site import may_use_console

    if "restart" in request.GET:
        request.session.pop(PENDING_KEY, None)
        return None
    pending = _pending(request)
    user = request.user
    if pending is None and user.is_authenticated and may_use_console(user):
        _pending_begin(request, user, reverse("admin:index"))
        pending = _pending(request)
    if pending is None:
        return None
    if services.has_second_factor(pending[0]):
        return HttpResponseRedirect(reverse("admin:mfa_verify"))
    return HttpResponseRedirect(reverse("admin:mfa_enrol"))


def console_login(site: AdminSite, request: HttpRequest, extra_context: Any = None) -> Any:
    """``AdminSite.login`` with ``ConsolePasswordView`` (same page, same context)."""
    from django.contrib.auth import REDIRECT_FIELD_NAME

    if request.method == "GET" and site.has_permission(request):
        return HttpResponseRedirect(reverse("admin:index", current_app=site.name))
    if request.method == "GET":
        step = _second_factor_step(request)
        if step is not None:
            return step
    context = {
        **site.each_context(request),
        "title": _("Log in"),
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
    }
    if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
        context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=site.name)
    context.update(extra_context or {})
    request.current_app = site.name
    return ConsolePasswordView.as_view(
        extra_context=context,
        authentication_form=site.login_form,
        template_name=site.login_template or "admin/login.html",
    )(request)


def _code_error(form: CodeForm, exc: ApplicationError) -> None:
    if isinstance(exc, MfaLocked):
        minutes = max(1, -(-exc.retry_after // 60))
        form.add_error(
            "otp",
            _("Too many wrong codes. Try again in %(minutes)d minutes.") % {"minutes": minutes},
        )
    elif isinstance(exc, MfaInvalid):
        form.add_error(
            "otp",
            _("The code is wrong, expired or already used (%(left)d attempts left).")
            % {"left": exc.extra.get("attempts_left", 0)},
        )
    elif isinstance(exc, ServiceUnavailableError):
        form.add_error(None, _("Sign-in is temporarily unavailable. Please try again shortly."))
    else:
        form.add_error(None, str(exc.detail))


def _page(site: AdminSite, request: HttpRequest, template: str, **context: Any) -> HttpResponse:
    response = TemplateResponse(
        request,
        template,
        {**site.each_context(request), "site_header": site.site_header, **context},
    )
    response["Cache-Control"] = "no-store"
    return response


def verify_view(site: AdminSite) -> Any:
    """The second step for a person with an authenticator: a code or a recovery code."""

    @sensitive_post_parameters("otp")
    @csrf_protect
    @never_cache
    def view(request: HttpRequest) -> HttpResponse:
        pending = _pending(request)
        if pending is None:
            return redirect("admin:login")
        user, mark = pending
        if not services.has_second_factor(user):
            return redirect("admin:mfa_enrol")
        form = CodeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            _bind(user)
            try:
                verification = services.second_factor_verify(
                    user=user, code=form.cleaned_data["otp"]
                )
            except ApplicationError as exc:
                _code_error(form, exc)
            else:
                next_url = _complete(request, user, mark, verification.device)
                if verification.recovery_code:
                    messages.warning(
                        request,
                        _(
                            "You signed in with a recovery code; it cannot be used again. "
                            "%(left)d recovery codes left."
                        )
                        % {"left": services.recovery_codes_left(user)},
                    )
                return HttpResponseRedirect(next_url)
        return _page(
            site,
            request,
            "accounts/mfa/verify.html",
            title=_("Second factor"),
            form=form,
            has_passkey=passkeys.has_passkey(user, _relying_party(request)[0]),
        )

    return view


def _secret_groups(device: TOTPDevice) -> str:
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def enrol_view(site: AdminSite) -> Any:
    """First sign-in: set up an authenticator app (QR code once), confirmed by a first code;
    then the ten recovery codes, shown this once."""

    @sensitive_post_parameters("otp")
    @csrf_protect
    @never_cache
    def view(request: HttpRequest) -> HttpResponse:
        pending = _pending(request)
        if pending is None:
            return redirect("admin:login")
        user, mark = pending
        if services.has_second_factor(user):
            return redirect("admin:mfa_verify")
        form = CodeForm(request.POST or None)
        device = None
        if request.method == "POST":
            device = TOTPDevice.objects.filter(
                pk=request.session.get(ENROL_DEVICE_KEY), user=user, confirmed=False
            ).first()
            if device is None:
                return redirect("admin:mfa_enrol")  # the page is stale: a fresh secret
            if form.is_valid():
                _bind(user)
                try:
                    device, codes = services.totp_enrolment_confirm(
                        user=user, device_id=device.pk, code=form.cleaned_data["otp"]
                    )
                except MfaAlreadyEnrolled:
                    return redirect("admin:mfa_verify")
                except ApplicationError as exc:
                    _code_error(form, exc)
                else:
                    next_url = _complete(request, user, mark, device)
                    return _page(
                        site,
                        request,
                        "accounts/mfa/recovery_codes.html",
                        title=_("Your recovery codes"),
                        codes=codes,
                        next_url=next_url,
                    )
        if device is None:
            _bind(user)
            device = services.totp_enrolment_begin(user=user)
            request.session[ENROL_DEVICE_KEY] = device.pk
        return _page(
            site,
            request,
            "accounts/mfa/enrol.html",
            title=_("Set up your second factor"),
            form=form,
            qr=qr_svg(device.config_url),
            secret=_secret_groups(device),
            account=user.get_username(),
        )

    return view


def _resettable_people(request: HttpRequest) -> list[dict[str, Any]]:
    """The people whose second factor the signed-in person may reset on this host."""
    actor = cast(User, request.user)
    schema = current_schema()
    rows: list[tuple[User, Any]]
    if schema == get_public_schema_name():
        if not actor.is_superuser:
            return []
        people = User.objects.filter(is_active=True).filter(
            pk__in=Membership.objects.filter(role=Role.AGENCY_ADMIN).values("user")
        ) | User.objects.filter(is_superuser=True, is_active=True)
        rows = [
            (
                person,
                _("platform administrator") if person.is_superuser else _("Agency administrator"),
            )
            for person in people.distinct().exclude(pk=actor.pk).order_by("email")
        ]
    else:
        if not Membership.objects.filter(
            user=actor, agency__schema_name=schema, role=Role.AGENCY_ADMIN, is_active=True
        ).exists():
            return []
        memberships = (
            Membership.objects.filter(agency__schema_name=schema, user__is_superuser=False)
            .exclude(role=Role.AGENCY_ADMIN)
            .exclude(user=actor)
            .select_related("user")
            .order_by("user__email")
        )
        rows = [(m.user, m.get_role_display()) for m in memberships]
    enrolled = set(
        TOTPDevice.objects.filter(
            user__in=[person for person, _role in rows], confirmed=True
        ).values_list("user_id", flat=True)
    )
    return [
        {"user": person, "role": role, "enrolled": person.pk in enrolled} for person, role in rows
    ]


def staff_view(site: AdminSite) -> Any:
    """The second factor of the staff an admin may reset (agency admins: their agency's
    other staff; platform administrators: agency admins and platform administrators)."""

    def view(request: HttpRequest) -> HttpResponse:
        people = _resettable_people(request)
        return _page(
            site,
            request,
            "accounts/mfa/staff.html",
            title=_("Second factor of the staff"),
            people=people,
        )

    return site.admin_view(view)


def reset_view(site: AdminSite) -> Any:
    """Reset one person's second factor (POST from the staff page)."""

    @require_POST
    def view(request: HttpRequest, user_id: str) -> HttpResponse:
        _bind(request.user)  # type: ignore[arg-type]
        try:
            target = services.second_factor_reset(actor=request.user, user_id=user_id)  # type: ignore[arg-type]
        except ApplicationError as exc:
            messages.error(request, str(exc.detail))
        else:
            messages.success(
                request,
                _(
                    "The second factor of %(person)s is reset: they set up a new one at "
                    "their next sign-in."
                )
                % {"person": target.get_username()},
            )
        return redirect("admin:mfa_staff")

    return site.admin_view(view)


def mine_view(site: AdminSite) -> Any:
    """My second factor: recovery codes left, and new ones (shown once)."""

    def view(request: HttpRequest) -> HttpResponse:
        user = request.user
        if request.method == "POST":
            _bind(user)  # type: ignore[arg-type]
            codes = services.recovery_codes_regenerate(user=user)  # type: ignore[arg-type]
            return _page(
                site,
                request,
                "accounts/mfa/recovery_codes.html",
                title=_("Your recovery codes"),
                codes=codes,
                next_url=reverse("admin:index"),
            )
        return _page(
            site,
            request,
            "accounts/mfa/mine.html",
            title=_("My second factor"),
            codes_left=services.recovery_codes_left(user),  # type: ignore[arg-type]
            passkeys=PasskeyDevice.objects.filter(
                user=user, rp_id=_relying_party(request)[0]
            ).order_by("created_at"),
        )

    return site.admin_view(view)


def _relying_party(request: HttpRequest) -> tuple[str, str]:
    """The WebAuthn relying party id (the host, without port) and origin of this request."""
    host = request.get_host()
    return host.rsplit(":", 1)[0] if not host.endswith("]") else host, (
        f"{request.scheme}://{host}"
    )


def _json_body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        return None


def _passkey_error(exc: ApplicationError) -> JsonResponse:
    if isinstance(exc, MfaLocked):
        minutes = max(1, -(-exc.retry_after // 60))
        text = _("Too many wrong codes. Try again in %(minutes)d minutes.") % {"minutes": minutes}
        return JsonResponse({"error": str(text)}, status=429)
    return JsonResponse({"error": str(_("The passkey was not accepted."))}, status=400)


def passkey_register_options_view(site: AdminSite) -> Any:
    """Options to create a passkey for the signed-in person (verified session)."""

    def view(request: HttpRequest) -> HttpResponse:
        rp_id, _origin = _relying_party(request)
        options, challenge = passkeys.passkey_registration_options(
            user=cast(User, request.user), rp_id=rp_id
        )
        request.session[PASSKEY_REGISTRATION_KEY] = b64encode(challenge).decode()
        return HttpResponse(options, content_type="application/json")

    return site.admin_view(view)


def passkey_register_view(site: AdminSite) -> Any:
    """Keep the passkey the browser made (POST, JSON)."""

    @require_POST
    def view(request: HttpRequest) -> HttpResponse:
        challenge = request.session.pop(PASSKEY_REGISTRATION_KEY, None)
        credential = _json_body(request)
        if not challenge or not isinstance(credential, dict):
            return JsonResponse({"error": str(_("The passkey was not accepted."))}, status=400)
        rp_id, origin = _relying_party(request)
        _bind(cast(User, request.user))
        try:
            passkeys.passkey_register(
                user=cast(User, request.user),
                rp_id=rp_id,
                origin=origin,
                credential=credential,
                challenge=b64decode(challenge),
            )
        except ApplicationError as exc:
            return _passkey_error(exc)
        messages.success(request, _("Your passkey is added."))
        return JsonResponse({"redirect": reverse("admin:mfa_mine")})

    return site.admin_view(view)


def passkey_verify_options_view(site: AdminSite) -> Any:
    """Options to sign in with a passkey (after the password)."""

    @never_cache
    def view(request: HttpRequest) -> HttpResponse:
        pending = _pending(request)
        if pending is None:
            return JsonResponse({"error": str(_("Sign in again."))}, status=400)
        rp_id, _origin = _relying_party(request)
        options, challenge = passkeys.passkey_authentication_options(user=pending[0], rp_id=rp_id)
        request.session[PASSKEY_AUTHENTICATION_KEY] = b64encode(challenge).decode()
        return HttpResponse(options, content_type="application/json")

    return view


def passkey_verify_view(site: AdminSite) -> Any:
    """Sign in with the passkey's answer (POST, JSON)."""

    @csrf_protect
    @require_POST
    def view(request: HttpRequest) -> HttpResponse:
        pending = _pending(request)
        challenge = request.session.pop(PASSKEY_AUTHENTICATION_KEY, None)
        credential = _json_body(request)
        if pending is None or not challenge or not isinstance(credential, dict):
            return JsonResponse({"error": str(_("Sign in again."))}, status=400)
        user, mark = pending
        rp_id, origin = _relying_party(request)
        _bind(user)
        try:
            device = passkeys.passkey_verify(
                user=user,
                rp_id=rp_id,
                origin=origin,
                credential=credential,
                challenge=b64decode(challenge),
            )
        except ApplicationError as exc:
            return _passkey_error(exc)
        return JsonResponse({"redirect": _complete(request, user, mark, device)})

    return view


def mfa_urls(site: AdminSite) -> list[URLPattern]:
    """The console routes of the second factor (``admin:mfa_*``)."""
    return [
        path("mfa/verify/", verify_view(site), name="mfa_verify"),
        path("mfa/enrol/", enrol_view(site), name="mfa_enrol"),
        path("mfa/", mine_view(site), name="mfa_mine"),
        path("mfa/staff/", staff_view(site), name="mfa_staff"),
        path("mfa/staff/<uuid:user_id>/reset/", reset_view(site), name="mfa_reset"),
        path(
            "mfa/passkeys/new/options/",
            passkey_register_options_view(site),
            name="mfa_passkey_register_options",
        ),
        path("mfa/passkeys/new/", passkey_register_view(site), name="mfa_passkey_register"),
        path(
            "mfa/passkeys/verify/options/",
            passkey_verify_options_view(site),
            name="mfa_passkey_verify_options",
        ),
        path("mfa/passkeys/verify/", passkey_verify_view(site), name="mfa_passkey_verify"),
    ]
