"""Error codes of idempotent requests (stable API)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from apps.core.errors import ConflictError, InvalidInput, UnprocessableError


class IdempotencyKeyRequired(InvalidInput):
    """The endpoint needs an ``Idempotency-Key`` header and none was sent (400)."""

    code = "idempotency_key_required"
    default_detail = _("This request needs an Idempotency-Key header.")


class IdempotencyKeyInvalid(InvalidInput):
    """The header is empty, too long or holds characters other than visible ASCII (400)."""

    code = "idempotency_key_invalid"
    default_detail = _("The Idempotency-Key header must be 1 to 255 visible ASCII characters.")


class IdempotencyKeyReused(UnprocessableError):
    """The key was already used for a different request (422)."""

    code = "idempotency_key_reused"
    default_detail = _(
        "This Idempotency-Key was already used for a different request; use a new key."
    )


class IdempotencyInProgress(ConflictError):
    """A request with this key is still being processed (409); retry a little later."""

    code = "idempotency_in_progress"
    default_detail = _(
        "A request with this Idempotency-Key is still being processed; retry shortly."
    )
