"""Error codes of the webhooks app (stable API: never rename one)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from apps.core.errors import ConflictError, InvalidInput, NotFoundError


class SubscriptionNotFound(NotFoundError):
    """No such subscription of this partner in this agency."""

    code = "webhook_subscription_not_found"
    default_detail = _("No such webhook subscription.")


class SubscriptionURLInvalid(InvalidInput):
    """The endpoint is not acceptable (scheme, host)."""

    code = "webhook_url_invalid"
    default_detail = _("This URL cannot receive webhooks.")


class SubscriptionExists(ConflictError):
    """The partner already has an active subscription for this URL."""

    code = "webhook_subscription_exists"
    default_detail = _("You already have a subscription for this URL.")
