"""Problem codes of the second factor (stable API: never rename one)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from apps.core.errors import ApplicationError, ConflictError, NotAuthenticatedError
from apps.core.errors import PermissionDeniedError as _PermissionDenied


class MfaRequired(_PermissionDenied):
    """A second factor is needed: at the token endpoint (with ``mfa_token``) or on a staff
    endpoint called with a token obtained on a password alone."""

    code = "mfa_required"
    default_detail = _("A second factor is required: sign in again with your authenticator code.")


class MfaEnrolmentRequired(_PermissionDenied):
    """The person has no second factor yet: they enrol at their first console sign-in."""

    code = "mfa_enrolment_required"
    default_detail = _(
        "You have no second factor yet: sign in to the console once to set up your "
        "authenticator app, then try again."
    )


class MfaInvalid(NotAuthenticatedError):
    """The code is wrong, expired or already used (recovery codes are single use)."""

    code = "mfa_invalid"
    default_detail = _("The code is wrong, expired or already used.")


class MfaTokenInvalid(NotAuthenticatedError):
    """The ``mfa_token`` of a two-step sign-in is unknown, expired, used or from another host."""

    code = "mfa_token_invalid"
    default_detail = _("This sign-in step has expired or is unknown: sign in again.")


class MfaAlreadyEnrolled(ConflictError):
    """An authenticator is already set up: enrolment does not replace it (a reset does)."""

    code = "mfa_already_enrolled"
    default_detail = _("A second factor is already set up for this account.")


class MfaLocked(ApplicationError):
    """Too many wrong codes for this person: refused without checking (429, ``Retry-After``)."""

    status = 429
    code = "mfa_locked"
    default_detail = _("Too many wrong codes. Try again later.")

    def __init__(self, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(extra={"retry_after": retry_after}, **kwargs)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}
