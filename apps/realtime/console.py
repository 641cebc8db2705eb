"""The console's way onto the gateway: a staff access token for the console session.

The console is signed in with a session (and its second factor, ``apps.accounts.mfa``); the
gateway takes bearer tokens. ``POST /admin/realtime-token/`` (same origin, CSRF-checked, on an
agency host) answers ``{"access": ..., "expires_in": 300, ...}``: a short-lived staff access
token for the session's person, agency and role, with the session's ``amr`` (``["pwd", "otp",
"mfa"]``, or ``["pwd", "hwk", "mfa"]`` after a passkey), and no refresh token. The queue page
(``queue-live.js``) asks for one when it connects and again before the token expires.

Refused with a 403 problem document: no signed-in session (``not_authenticated``), a session
that has not passed the second factor (``mfa_required``), a person who is not an active member
of this host's agency, or the public host (``not_agency_staff``).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from apps.accounts.admin_site import may_use_console
from apps.accounts.mfa.console import console_session_verified
from apps.accounts.mfa.models import PasskeyDevice
from apps.accounts.services import console_session_token_issue
from apps.core.errors import ApplicationError
from apps.core.exceptions import problem_response


def console_session_amr(request: HttpRequest) -> tuple[str, ...]:
    """The ``amr`` of this console session, as its sign-in recorded it (``mfa.console``)."""
    if not console_session_verified(request):
        return ("pwd",)
    device: Any = getattr(request.user, "otp_device", None)
    return ("pwd", "hwk" if isinstance(device, PasskeyDevice) else "otp", "mfa")


@never_cache
@csrf_protect
@require_POST
def realtime_token_view(request: HttpRequest) -> HttpResponse:
    """A short-lived staff access token for this console session (see the module)."""
    if not request.user.is_authenticated:
        return problem_response(
            status=403,
            code="not_authenticated",
            detail=_("Sign in to the console first."),
        )
    if not may_use_console(request.user):
        return problem_response(
            status=403,
            code="not_agency_staff",
            detail=_("You are not a member of this agency's staff."),
        )
    try:
        tokens = console_session_token_issue(
            user=request.user,
            amr=console_session_amr(request),
        )
    except ApplicationError as exc:
        return problem_response(status=exc.status, code=exc.code, detail=exc.detail)
    return JsonResponse(tokens.as_response())  # never_cache: no-store


console_urlpatterns: list[URLPattern] = [
    path("admin/realtime-token/", realtime_token_view, name="console_realtime_token"),
]
