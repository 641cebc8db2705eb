"""Error codes of the payments app (stable API: never rename one)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from apps.core.errors import (
    ConflictError,
    InvalidInput,
    NotAuthenticatedError,
    NotFoundError,
    ServiceUnavailableError,
)


class PaymentNotFound(NotFoundError):
    """No such payment for this caller in this agency."""

    code = "payment_not_found"
    default_detail = _("No such payment.")


class PaymentNotDue(ConflictError):
    """The application does not wait for a payment (already paid, exempted, free, decided)."""

    code = "payment_not_due"
    default_detail = _("This application does not wait for a payment.")


class PaymentInProgress(ConflictError):
    """Another attempt for this application is still waiting for the citizen's confirmation."""

    code = "payment_in_progress"
    default_detail = _(
        "A payment of this application is already waiting for your confirmation on your phone."
    )


class PaymentProviderUnavailable(ServiceUnavailableError):
    """The payment provider cannot be reached now; nothing was charged."""

    code = "payment_provider_unavailable"
    default_detail = _("Payments are not available at the moment. Please try again later.")


class CallbackUnauthenticated(NotAuthenticatedError):
    """A callback whose signature is missing, stale or wrong."""

    code = "payment_callback_unauthenticated"
    default_detail = _("The callback's signature is not valid.")


class CallbackUnknownPayment(NotFoundError):
    """A callback about an identifier this agency never gave."""

    code = "payment_callback_unknown"
    default_detail = _("No payment has this identifier.")


class CallbackAmountMismatch(InvalidInput):
    """A callback whose amount is not the amount asked."""

    code = "payment_amount_mismatch"
    default_detail = _("The amount does not match the payment.")


class ExemptionCategoryUnknown(InvalidInput):
    """The exemption category names no active category of this agency."""

    code = "exemption_category_unknown"
    default_detail = _("No active exemption category has this code.")
