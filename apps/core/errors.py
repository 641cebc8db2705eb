"""The exception tree every app raises from services and selectors.

``ApplicationError`` carries a stable machine-readable ``code`` (public API: never rename one),
an HTTP ``status`` and optional ``extra`` members for the problem document. The DRF exception
handler in ``apps.core.exceptions`` turns these into RFC 9457 problem documents.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    """Base of every expected, client-facing failure."""

    status: int = 400
    code: str = "bad_request"
    default_detail: Any = _("The request could not be processed.")

    def __init__(
        self,
        detail: Any = None,
        *,
        code: str | None = None,
        status: int | None = None,
        errors: dict[str, list[str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.detail = detail if detail is not None else self.default_detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.errors = errors
        self.extra = extra or {}
        super().__init__(str(self.detail))


class InvalidInput(ApplicationError):
    """The input is well-formed but breaks a rule (400)."""

    status = 400
    code = "validation_failed"
    default_detail = _("The submitted data is not valid.")


class NotAuthenticatedError(ApplicationError):
    """Credentials are missing or wrong (401)."""

    status = 401
    code = "not_authenticated"
    default_detail = _("Authentication is required.")


class PermissionDeniedError(ApplicationError):
    """The caller is known but may not do this (403)."""

    status = 403
    code = "permission_denied"
    default_detail = _("You do not have permission to perform this action.")


class NotFoundError(ApplicationError):
    """The object does not exist for this caller in this agency (404)."""

    status = 404
    code = "not_found"
    default_detail = _("Not found.")


class ConflictError(ApplicationError):
    """The request conflicts with the current state (409)."""

    status = 409
    code = "conflict"
    default_detail = _("The request conflicts with the current state of the resource.")


class PreconditionFailedError(ApplicationError):
    """An ``If-Match`` precondition did not hold (412)."""

    status = 412
    code = "precondition_failed"
    default_detail = _("The resource was changed by someone else; reload it and try again.")


class UnprocessableError(ApplicationError):
    """Understood but refused, such as an idempotency key reused with another body (422)."""

    status = 422
    code = "unprocessable"
    default_detail = _("The request cannot be processed.")


class ServiceUnavailableError(ApplicationError):
    """A dependency needed for a safe answer is down (503)."""

    status = 503
    code = "service_unavailable"
    default_detail = _("The service is temporarily unavailable. Please try again shortly.")
