"""RFC 9457 problem documents for every error the API returns.

One function (``problem_document``) shapes the body; ``problem_exception_handler`` is DRF's
exception handler; ``problem_response`` serves middleware and Django-level handlers (404/500)
that run outside DRF. Unknown exceptions become a logged 500 carrying the request id.
"""

from __future__ import annotations

import sys
from typing import Any

import structlog
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_default_handler
from rest_framework.views import set_rollback
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from apps.core import outages
from apps.core.context import get_context
from apps.core.errors import ApplicationError
from apps.core.renderers import encodable
from apps.hotkeys.base import StoreUnavailable

logger = structlog.get_logger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://guichet.example/problems/"

# Stable codes for DRF's own exceptions (public API: never rename).
DRF_CODES: dict[type[Exception], str] = {
    drf_exceptions.ParseError: "malformed_request",
    drf_exceptions.AuthenticationFailed: "authentication_failed",
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.PermissionDenied: "permission_denied",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "throttled",
    drf_exceptions.ValidationError: "validation_failed",
    InvalidToken: "token_invalid",
}

# Lazy: translated when a problem is rendered, in the language the request asked for.
TITLES: dict[int, Any] = {
    400: _lazy("Bad request"),
    401: _lazy("Unauthorized"),
    403: _lazy("Forbidden"),
    404: _lazy("Not found"),
    405: _lazy("Method not allowed"),
    406: _lazy("Not acceptable"),
    409: _lazy("Conflict"),
    412: _lazy("Precondition failed"),
    413: _lazy("Content too large"),
    415: _lazy("Unsupported media type"),
    422: _lazy("Unprocessable content"),
    429: _lazy("Too many requests"),
    500: _lazy("Internal server error"),
    503: _lazy("Service unavailable"),
}


def problem_document(
    *,
    status: int,
    code: str,
    detail: Any,
    errors: dict[str, list[str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The body of an RFC 9457 problem document with Guichet's members."""
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE_BASE}{code}",
        "title": str(TITLES.get(status, _("Error"))),
        "status": status,
        # Messages may echo the caller's input: never let text that cannot be encoded through.
        "detail": encodable(str(detail)),
        "code": code,
        "request_id": get_context().request_id,
    }
    if errors:
        body["errors"] = encodable(errors)
    if extra:
        body.update(encodable(extra))
    return body


def problem_response(
    *,
    status: int,
    code: str,
    detail: Any,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JsonResponse:
    """A problem document as a plain Django response (for middleware and URL handlers)."""
    response = JsonResponse(
        problem_document(status=status, code=code, detail=detail, errors=errors, extra=extra),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten DRF's nested error detail into ``{"field.sub": ["message", ...]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for field, messages in flatten_errors(value, name).items():
                flat.setdefault(field, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            flat[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                name = f"{prefix}.{index}" if prefix else str(index)
                for field, messages in flatten_errors(item, name).items():
                    flat.setdefault(field, []).extend(messages)
    else:
        flat[prefix or "non_field_errors"] = [str(detail)]
    return flat


def _code_for(exc: Exception) -> str:
    for exc_type in type(exc).__mro__:
        if exc_type in DRF_CODES:
            return DRF_CODES[exc_type]
    return "error"


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF exception handler: every error becomes ``application/problem+json``.

    Refused attempts (401 and 403) are also recorded in the platform audit trail.
    """
    response = _problem_for(exc, context)
    if response.status_code in (401, 403):
        from apps.audit.services import audit_denied  # models: not importable at module load

        request = context.get("request")
        audit_denied(
            status=response.status_code,
            method=getattr(request, "method", "") or "",
            path=getattr(request, "path", "") or "",
            code=str((response.data or {}).get("code", "")),
        )
    return response


def _problem_for(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, TokenError):
        exc = InvalidToken(str(exc))
    if isinstance(exc, StoreUnavailable):
        # A security check (token denylist, lockout, one-time code) could not consult the
        # hot-key store: it fails closed rather than guess.
        logger.warning("security_store_unavailable")
    outage = outages.outage_for(exc)
    if outage is not None:
        # A dependency is down (database, broker, hot-key store, file storage): 503 or 507 with
        # Retry-After and the failing part, never a 500.
        outages.record(outage, exc)
        set_rollback()
        body = problem_document(
            status=outage.status,
            code=outage.code,
            detail=exc.detail if isinstance(exc, ApplicationError) else outage.detail,
            extra={"part": outage.part},
        )
        answer = Response(body, status=outage.status, content_type=PROBLEM_CONTENT_TYPE)
        answer["Retry-After"] = str(outages.retry_after_seconds())
        return answer
    if isinstance(exc, ApplicationError):
        body = problem_document(
            status=exc.status, code=exc.code, detail=exc.detail, errors=exc.errors, extra=exc.extra
        )
        answer = Response(body, status=exc.status, content_type=PROBLEM_CONTENT_TYPE)
        for name, value in (getattr(exc, "headers", None) or {}).items():
            answer[name] = value  # e.g. Retry-After of a lockout
        return answer
    if isinstance(exc, DjangoValidationError):
        django_errors = (
            {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
            if hasattr(exc, "error_dict")
            else {"non_field_errors": [str(m) for m in exc.messages]}
        )
        body = problem_document(
            status=400,
            code="validation_failed",
            detail=_("The submitted data is not valid."),
            errors=django_errors,
        )
        return Response(body, status=400, content_type=PROBLEM_CONTENT_TYPE)
    if isinstance(exc, RequestDataTooBig):
        body = problem_document(
            status=413, code="payload_too_large", detail=_("The request body is too large.")
        )
        return Response(body, status=413, content_type=PROBLEM_CONTENT_TYPE)

    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()

    response = drf_default_handler(exc, context)
    if response is None:
        logger.exception("unhandled_exception", exc_type=type(exc).__name__)
        body = problem_document(
            status=500,
            code="internal_error",
            detail=_("An unexpected error occurred. Quote the request id when reporting it."),
        )
        return Response(body, status=500, content_type=PROBLEM_CONTENT_TYPE)

    assert isinstance(exc, drf_exceptions.APIException)
    code = _code_for(exc)
    errors: dict[str, list[str]] | None = None
    if isinstance(exc, drf_exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        detail: Any = _("The submitted data is not valid.")
        if _has_unknown_field(exc.get_codes()):
            code = "unknown_field"
    elif isinstance(exc, InvalidToken):
        detail = _("The token is invalid or expired.")
    else:
        detail = exc.detail if not isinstance(exc.detail, dict | list) else exc.default_detail
    if isinstance(exc, drf_exceptions.AuthenticationFailed | drf_exceptions.PermissionDenied):
        # A code given where raised (token_revoked, mfa_required, ...) is kept.
        custom = exc.get_codes()
        if isinstance(custom, str) and custom not in ("authentication_failed", "permission_denied"):
            code = custom
    response.data = problem_document(
        status=response.status_code, code=code, detail=detail, errors=errors
    )
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _has_unknown_field(codes: Any) -> bool:
    def walk(value: Any) -> bool:
        if isinstance(value, dict):
            return any(walk(v) for v in value.values())
        if isinstance(value, list):
            return any(walk(v) for v in value)
        return value == "unknown_field"

    return walk(codes)


def not_found_view(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """``handler404`` for URLs outside DRF."""
    return problem_response(status=404, code="not_found", detail=_("Not found."))


def server_error_view(request: HttpRequest) -> HttpResponse:
    """``handler500``: every exception no view handled, including those raised in middleware.

    Django calls it inside its ``except`` block, so the exception is at hand: a dependency
    outage (the tenancy middleware's first query while PostgreSQL is down, a console page, a
    session save) is answered as one (503 problem document, or the console's maintenance page);
    anything else is a 500 ``internal_error`` (already logged by the request middleware).
    """
    exc = sys.exc_info()[1]
    outage = outages.outage_for(exc) if exc is not None else None
    if outage is not None:
        outages.record(outage, exc)
        return outages.outage_response(request, outage)
    return problem_response(
        status=500,
        code="internal_error",
        detail=_("An unexpected error occurred. Quote the request id when reporting it."),
    )
